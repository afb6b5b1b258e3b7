#!/usr/bin/env bash
# fetch-syslog-ng.sh: unpacks Debian 12's syslog-ng (syslog-ng-core, and the libraries it needs
# that this machine lacks) into the cache once, and prints the path of the syslog-ng binary. The
# package cannot be installed: it conflicts with rsyslog, which the syslog tests need. Run the
# binary with the unpacked libraries and modules:
#   root=$(dirname "$(dirname "$bin")")
#   LD_LIBRARY_PATH=$root/usr/lib/syslog-ng:$root/usr/lib/x86_64-linux-gnu \
#     "$bin" --module-path="$root/usr/lib/syslog-ng/3.38" -f CONFIG ...
# tests/e2e/test_syslog_ng.py forwards the test server's syslog output to the agent with it.
set -euo pipefail
version=3.38.1-5+deb12u1  # bookworm's syslog-ng-core
modules=3.38
cache=${PGVIGIL_CACHE:-/var/cache/pgvigil}
dir="$cache/syslog-ng-$version"
bin="$dir/usr/sbin/syslog-ng"
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)

# Runs an unpacked tree's binary with its libraries and modules.
run() {
  local root=$1
  shift
  LD_LIBRARY_PATH=$root/usr/lib/syslog-ng:$root/usr/lib/$arch \
    "$root/usr/sbin/syslog-ng" --module-path="$root/usr/lib/syslog-ng/$modules" "$@"
}

# The cache is complete only if the binary runs and finds its network drivers.
works() {
  run "$1" --version 2>/dev/null | grep -q "^Available-Modules:.*afsocket"
}

if [[ ! -f "$dir/.complete" ]] || ! works "$dir"; then
  command -v apt-get >/dev/null || { echo "fetch-syslog-ng.sh: apt-get is needed" >&2; exit 1; }
  if ! apt-cache show "syslog-ng-core=$version" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-cache show "syslog-ng-core=$version" >/dev/null 2>&1 ||
      { echo "fetch-syslog-ng.sh: apt does not serve syslog-ng-core $version" \
          "(not Debian 12, or a newer point release replaced it)" >&2; exit 1; }
  fi
  # The library packages syslog-ng-core depends on that are not installed here (libivykis0,
  # libnet1, libwrap0 on a stock Debian 12): unpacked beside it, found through LD_LIBRARY_PATH.
  packages=("syslog-ng-core=$version")
  while read -r package; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || packages+=("$package")
  done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
             --no-replaces --no-enhances "syslog-ng-core=$version" |
           sed -n 's/^ *Depends: \(lib[^< ]*\)$/\1/p')
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/syslog-ng.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/debs" "$tmp/root"
  (cd "$tmp/debs" && apt-get download -q "${packages[@]}" >"$tmp/download.log" 2>&1) ||
    { echo "fetch-syslog-ng.sh: apt-get download ${packages[*]} failed:" >&2
      tail -5 "$tmp/download.log" >&2; exit 1; }
  for deb in "$tmp"/debs/*.deb; do
    dpkg -x "$deb" "$tmp/root"
  done
  works "$tmp/root" ||
    { echo "fetch-syslog-ng.sh: the unpacked syslog-ng $version does not run:" >&2
      run "$tmp/root" --version >&2 || true; exit 1; }
  printf '%s\n' "${packages[@]}" >"$tmp/root/.complete"
  rm -rf "$dir"
  mv -T "$tmp/root" "$dir"
  chmod -R a+rX "$dir"
fi
echo "$bin"
