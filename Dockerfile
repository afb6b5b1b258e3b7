# pgvigil in a container: Debian 12 slim with the Debian package, running as the unprivileged
# pgvigil account. Build from the source tree (no network beyond Debian's archive):
#   docker build -t pgvigil:0.1.0 .
#   docker run -p 9432:9432 -e PGVIGIL_DSN='postgresql://monitor:…@db:5432/postgres' pgvigil:0.1.0
# With no --config.file the agent watches one target from PGVIGIL_DSN (or libpq's PG* variables);
# mount a config at /etc/pgvigil/pgvigil.yaml and pass --config.file=/etc/pgvigil/pgvigil.yaml
# for more. deploy/kubernetes/pgvigil.yaml runs this image.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config git \
      libpq-dev prometheus-cpp-dev libcpp-httplib-dev libssl-dev zlib1g-dev libyaml-cpp-dev \
      libspdlog-dev nlohmann-json3-dev libcli11-dev libcrypt-dev help2man file dpkg-dev npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# PGVIGIL_REVISION names the commit when the build context has no .git. The build fetches the
# status page's chart library (uplot) from the npm registry.
ARG PGVIGIL_REVISION=""
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DPGVIGIL_BUILD_TESTS=OFF \
 && cmake --build /build -j "$(nproc)" --target package

FROM debian:12-slim
COPY --from=build /build/pgvigil_*_amd64.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/pgvigil_*_amd64.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/pgvigil_*_amd64.deb
USER pgvigil
EXPOSE 9432
ENTRYPOINT ["/usr/bin/pgvigil"]
CMD []
