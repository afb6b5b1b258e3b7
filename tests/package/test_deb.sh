#!/usr/bin/env bash
# The Debian package as an operator meets it: built by CPack from the build directory given,
# clean under lintian, installed with dpkg on this machine (then purged): the binary runs, the
# `pgvigil` account exists, the example config is a conffile that only root and pgvigil can read
# and that survives an upgrade, `pgvigil --check-config` passes on it as the service would run
# it, and the unit is hardened to an exposure of 2.0 or less.
#   tests/package/test_deb.sh BUILD_DIR
set -euo pipefail
build=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' pgvigil 2>/dev/null | grep -q 'install ok installed'; then
  echo "SKIP: a pgvigil package is installed on this machine; this test will not replace it"
  exit 77
fi
[[ $(id -u) -eq 0 ]] || { echo "SKIP: installing a package needs root"; exit 77; }

cmake --build "$build" --target package >/dev/null
deb=$(ls -t "$build"/pgvigil_*_amd64.deb | head -1)
echo "package: $deb"
lint=$(lintian --fail-on error,warning "$deb" 2>&1) || { echo "$lint"; fail "lintian"; }

trap 'dpkg --purge pgvigil >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null

/usr/bin/pgvigil --version | grep -q '^pgvigil, version ' || fail "--version"
getent passwd pgvigil >/dev/null || fail "no pgvigil account"
[[ $(stat -c '%U:%G %a' /etc/pgvigil/pgvigil.yaml) == "root:pgvigil 640" ]] ||
  fail "config is $(stat -c '%U:%G %a' /etc/pgvigil/pgvigil.yaml), not root:pgvigil 640"
dpkg-query -W -f='${Conffiles}\n' pgvigil | grep -q '^ /etc/pgvigil/pgvigil.yaml ' ||
  fail "/etc/pgvigil/pgvigil.yaml is not a conffile"
runuser -u pgvigil -- /usr/bin/pgvigil --config.file=/etc/pgvigil/pgvigil.yaml --check-config \
  >/dev/null || fail "--check-config as the pgvigil account"
# Nobody else may read it: it may hold passwords.
runuser -u nobody -- cat /etc/pgvigil/pgvigil.yaml >/dev/null 2>&1 && fail "others can read the config"

systemd-analyze verify --man=no /lib/systemd/system/pgvigil.service || fail "systemd-analyze verify"
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/pgvigil.service 2>&1 |
  sed -n 's/.*Overall exposure level for pgvigil.service: \([0-9.]*\).*/\1/p')
echo "unit exposure: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "unit exposure $exposure > 2.0"
[[ -f /usr/lib/sysusers.d/pgvigil.conf && -f /usr/share/man/man1/pgvigil.1.gz &&
   -f /usr/share/pgvigil/alerts/pgvigil.rules.yml &&
   -f /usr/share/pgvigil/dashboards/pgvigil-overview.json ]] || fail "files missing"

# An upgrade keeps the operator's edits.
echo "# edited by the operator" >>/etc/pgvigil/pgvigil.yaml
dpkg -i --force-confold "$deb" >/dev/null
grep -q '^# edited by the operator$' /etc/pgvigil/pgvigil.yaml || fail "the upgrade lost the edit"

dpkg --purge pgvigil >/dev/null
[[ ! -e /usr/bin/pgvigil && ! -e /etc/pgvigil/pgvigil.yaml ]] || fail "purge left files"
echo "PASS"
