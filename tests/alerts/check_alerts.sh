#!/usr/bin/env bash
# The shipped rules and Alertmanager example, checked with Prometheus' own tools:
# syntax, the promtool unit tests of every alert, and where each severity is routed.
set -euo pipefail
cd "$(dirname "$0")/../../alerts"
failures=0
check() {
  local name=$1
  shift
  if "$@" >/tmp/pgvigil-alert-check.log 2>&1; then
    echo "ok: $name"
  else
    echo "FAILED: $name"
    cat /tmp/pgvigil-alert-check.log
    failures=$((failures + 1))
  fi
}
route_is() {
  amtool config routes test --config.file=alertmanager.example.yml --verify.receivers="$1" \
    "${@:2}"
}
check "promtool check rules" promtool check rules pgvigil.rules.yml
check "promtool test rules" promtool test rules tests/pgvigil.rules.test.yml
check "amtool check-config" amtool check-config alertmanager.example.yml
check "critical pages" route_is oncall-pager severity=critical alertname=PostgresDown
check "warning goes to chat" route_is ops-chat severity=warning alertname=PostgresLockWaiters
check "info goes to the digest" route_is ops-digest severity=info
check "a warning never pages" bash -c '! amtool config routes test \
  --config.file=alertmanager.example.yml --verify.receivers=oncall-pager severity=warning'
echo "$((7 - failures)) passed, $failures failed"
[[ $failures -eq 0 ]]
