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
check "promtool test rules" promtool test rules tests/pgvigil.rules.test.yml \
  tests/replication.rules.test.yml
check "amtool check-config" amtool check-config alertmanager.example.yml
check "critical pages" route_is oncall-pager severity=critical alertname=PostgresDown
check "warning goes to chat" route_is ops-chat severity=warning alertname=PostgresLockWaiters
check "info goes to the digest" route_is ops-digest severity=info
check "a warning never pages" bash -c '! amtool config routes test \
  --config.file=alertmanager.example.yml --verify.receivers=oncall-pager severity=warning'
check "every alert of the contract, with a runbook section" python3 - <<'PY'
import re, sys
rules = open("pgvigil.rules.yml").read()
runbooks = open("../docs/runbooks.md").read()
contract = ["PostgresDown", "PostgresConnectionUsageHigh", "PostgresConnectionUsageWarning",
            "PostgresErrorRateHigh", "PostgresSlowQueries", "PostgresProbeLatencyHigh",
            "PostgresLockWaiters", "PostgresIdleInTransaction", "PgvigilCollectorFailing",
            "PostgresMeanQueryTimeHigh", "PostgresConnectionsRefused", "PgvigilDown",
            "PgBouncerDown", "PgBouncerPoolUsageHigh", "PgBouncerClientsWaiting",
            "PgBouncerClientConnectionsHigh", "PgvigilLogSourceSilent",
            "PostgresReplicationLagHigh", "PostgresStandbyNotStreaming",
            "PostgresReplicationSlotInactive", "PostgresReplicationSlotWalAtRisk",
            "PostgresTxidWraparoundRisk", "PostgresXminHorizonHeld",
            "PostgresWalArchivingFailing"]
alerts = re.findall(r"^\s*- alert: (\w+)", rules, re.M)
anchors = {h.lower() for h in re.findall(r"^## (\w+)", runbooks, re.M)}
problems = [a + ": not in the rules" for a in contract if a not in alerts]
for block in re.split(r"^\s*- alert: ", rules, flags=re.M)[1:]:
    name = block.split()[0]
    url = re.search(r"runbook_url: \S+#(\w+)", block)
    if not url or url.group(1) != name.lower() or name.lower() not in anchors:
        problems.append(name + ": runbook_url does not point at its docs/runbooks.md section")
    for key in ("severity:", "summary:", "description:"):
        if key not in block:
            problems.append(name + ": no " + key)
    summary = re.search(r"summary: (.*)", block)
    if summary and not summary.group(1).strip().endswith("."):
        problems.append(name + ": summary does not end in a period")
for group in re.split(r"^  - name: ", rules, flags=re.M)[1:]:
    count = len(re.findall(r"^\s*- (?:alert|record): ", group, re.M))
    if count > 20:
        problems.append("group %s has %d rules (at most 20)" % (group.split()[0], count))
for window in re.findall(r"\[(\d+)([smh])\]", rules):
    seconds = int(window[0]) * {"s": 1, "m": 60, "h": 3600}[window[1]]
    if seconds < 60:
        problems.append("rate window %s%s is under 4 scrapes at 15 s" % window)
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
check "resolved notifications go out within a minute" python3 - <<'PY'
import re, sys
import yaml
config = yaml.safe_load(open("alertmanager.example.yml"))
seconds = {"s": 1, "m": 60, "h": 3600}
problems = []
def walk(route, inherited):
    interval = route.get("group_interval", inherited)
    value = re.fullmatch(r"(\d+)([smh])", interval)
    if not value or int(value.group(1)) * seconds[value.group(2)] > 60:
        problems.append("route to %s: group_interval %s delays a resolved notification"
                        % (route.get("receiver", "?"), interval))
    for child in route.get("routes", []):
        walk(child, interval)
walk(config["route"], "5m")  # Alertmanager's default
for receiver in config["receivers"]:
    for kind, configs in receiver.items():
        if kind.endswith("_configs"):
            for entry in configs:
                if entry.get("send_resolved") is not True:
                    problems.append("%s: %s without send_resolved: true" % (receiver["name"], kind))
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
echo "$((9 - failures)) passed, $failures failed"
[[ $failures -eq 0 ]]
