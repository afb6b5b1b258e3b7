#!/usr/bin/env bash
# fetch-pgbouncer.sh: builds PgBouncer 1.24.1 — the current release in Debian's archive (trixie),
# whose binary package needs a newer libc than Debian 12's — from Debian's source package into the
# cache once, and prints the binary's path. The PgBouncer tests run against it as well as against
# Debian 12's 1.18, so that columns renamed since (SHOW DATABASES' reserve_pool_size) are read.
set -euo pipefail
version=1.24.1
sha256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0  # Debian's Sources index
mirror=${PGVIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${PGVIGIL_CACHE:-/var/cache/pgvigil}/pgbouncer
dir="$cache/$version"
if [[ ! -x "$dir/pgbouncer" ]]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  tarball="pgbouncer_$version.orig.tar.gz"
  curl -fsS --retry 3 -o "$tmp/$tarball" "$mirror/pool/main/p/pgbouncer/$tarball" ||
    { echo "fetch-pgbouncer.sh: cannot download $tarball from $mirror" >&2; exit 1; }
  echo "$sha256  $tmp/$tarball" | sha256sum --check --quiet ||
    { echo "fetch-pgbouncer.sh: $tarball does not match its sha256" >&2; exit 1; }
  tar -xzf "$tmp/$tarball" -C "$tmp"
  # libc's resolver (no c-ares): the tests connect by address.
  (cd "$tmp/pgbouncer-$version" && ./configure --without-cares --disable-evdns >"$tmp/build.log" 2>&1 &&
    make -j "$(nproc)" pgbouncer >>"$tmp/build.log" 2>&1) ||
    { echo "fetch-pgbouncer.sh: building PgBouncer $version failed:" >&2; tail -20 "$tmp/build.log" >&2; exit 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  install -m 0755 "$tmp/pgbouncer-$version/pgbouncer" "$dir/pgbouncer"
  chmod a+rx "$cache" "$dir"
fi
echo "$dir/pgbouncer"
