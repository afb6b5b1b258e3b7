#!/usr/bin/env bash
# pgvigil against Debian's prometheus-postgres-exporter on a server with a large
# pg_stat_statements: one throwaway PostgreSQL with pg_stat_statements.max = 10000 and
# STATEMENTS (default 5,600) distinct statements. Both agents run at once, each under its own
# pg_monitor role, and are scraped every 2 s for 30 s. Prints one table side by side.
#
# The exporter gets the pg_stat_statements query from the example file Debian ships, with the
# column names PostgreSQL 13 renamed (total_time -> total_exec_time, ...) corrected: as shipped
# it fails on PostgreSQL 15 at every scrape.
#   bench/compare.sh [STATEMENTS] [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
statements=${1:-5600}
duration=${2:-30}

source bench/lib-bench.sh
work=$(mktemp -d /tmp/pgvigil-compare.XXXXXX)
bench_dirs+=("$work")
pg_start "pg_stat_statements.max = 10000"
pg_psql >/dev/null <<'SQL'
CREATE EXTENSION pg_stat_statements;
CREATE ROLE vigil LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor;
CREATE ROLE exporter LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor;
CREATE ROLE app LOGIN PASSWORD 'bench-pw';
SQL
export PGPASSWORD=bench-pw
python3 scripts/workload.py statements "$statements" >"$work/workload.sql"
psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app -d postgres -f "$work/workload.sql" >/dev/null
psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app -d postgres -f "$work/workload.sql" >/dev/null

# The peer's own example query, corrected for PostgreSQL 13+.
python3 - "$work/exporter-queries.yaml" <<'PY'
import re, sys
text = open("/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml").read()
block = re.search(r"^pg_stat_statements:\n(?:[ \t].*\n|\n)*", text, re.M).group(0)
for old, new in [("total_time /", "total_exec_time /"), ("min_time /", "min_exec_time /"),
                 ("max_time /", "max_exec_time /"), ("mean_time /", "mean_exec_time /"),
                 ("stddev_time /", "stddev_exec_time /")]:
    block = block.replace(old, new)
open(sys.argv[1], "w").write(block)
PY

dsn() { echo "postgresql://$1:bench-pw@127.0.0.1:$PGV_PGPORT/postgres?sslmode=disable"; }
agent_port=$(free_port)
exporter_port=$(free_port)
# Statements every 5 s rather than the default 30 s, so that the run sees several polls.
cat >"$work/pgvigil.yaml" <<YAML
defaults:
  statements_interval: 5s
targets:
  - name: bench
    dsn: "$(dsn vigil)"
YAML
build/pgvigil --config.file="$work/pgvigil.yaml" --web.listen-address="127.0.0.1:$agent_port" \
  --log.level=warn &
bench_pids+=($!)
agent_pid=$!
DATA_SOURCE_NAME=$(dsn exporter) prometheus-postgres-exporter \
  --extend.query-path="$work/exporter-queries.yaml" \
  --web.listen-address="127.0.0.1:$exporter_port" --log.level=warn >"$work/exporter.log" 2>&1 &
bench_pids+=($!)
exporter_pid=$!
sleep 3

# Bare read of the counters, the floor for the statements poll (as another pg_monitor role, so
# that it is not a new statement of pgvigil's own role to look up).
echo "SELECT userid, dbid, queryid, calls, total_exec_time, rows FROM pg_stat_statements(false);" \
  >"$work/bare.sql"
bare_ms=$("$PGV_PGBIN/pgbench" -n -f "$work/bare.sql" -t 20 -h 127.0.0.1 -p "$PGV_PGPORT" \
  -U exporter postgres 2>/dev/null | awk '/latency average/ {print $4}')

# Measurement queries run as the superuser, so they never count as the workload's.
role_ms() {
  pg_psql -At -c \
    "SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements s JOIN pg_roles r
     ON r.oid = s.userid WHERE r.rolname = '$1'"
}
vigil_before=$(role_ms vigil)
exporter_before=$(role_ms exporter)

echo "scraping both every 2 s for ${duration} s against $(pg_psql -At -c \
  'SELECT count(*) FROM pg_stat_statements') tracked statements ..."
python3 - "$agent_pid" "$agent_port" "$exporter_pid" "$exporter_port" "$duration" \
  >"$work/scrapes.json" <<'PY'
import http.client, json, os, sys, time
agent_pid, agent_port, exporter_pid, exporter_port, duration = map(int, sys.argv[1:])

def cpu(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def scrape(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    return time.perf_counter() - start, body

result = {}
for name, pid, port in (("pgvigil", agent_pid, agent_port), ("exporter", exporter_pid, exporter_port)):
    result[name] = {"pid": pid, "port": port, "latencies": [], "cpu_before": cpu(pid)}
end = time.monotonic() + duration
while time.monotonic() < end:
    tick = time.monotonic()
    for name in ("pgvigil", "exporter"):
        r = result[name]
        elapsed, body = scrape(r["port"])
        r["latencies"].append(elapsed)
        r["body"] = body
        if name == "pgvigil":
            for line in body.splitlines():
                if line.startswith("pgvigil_collector_duration_seconds") and \
                        'collector="statements"' in line:
                    r.setdefault("polls", {})[line] = float(line.rsplit(" ", 1)[1])
    time.sleep(max(0, 2 - (time.monotonic() - tick)))
for name, r in result.items():
    r["cpu"] = cpu(r["pid"]) - r.pop("cpu_before")
    status = open("/proc/%d/status" % r["pid"]).read()
    r["peak_rss"] = int(status.split("VmHWM:")[1].split()[0]) * 1024
json.dump(result, sys.stdout)
PY
vigil_after=$(role_ms vigil)
exporter_after=$(role_ms exporter)
server_calls=$(pg_psql -At -c \
  "SELECT sum(calls) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
   WHERE r.rolname = 'app'")

python3 - "$work/scrapes.json" "$vigil_before" "$vigil_after" "$exporter_before" \
  "$exporter_after" "$bare_ms" "$server_calls" <<'PY'
import json, re, statistics, sys
result = json.load(open(sys.argv[1]))
vb, va, eb, ea, bare_ms, server_calls = map(float, sys.argv[2:8])

def samples(body):
    return [l for l in body.splitlines() if l and not l.startswith("#")]

def value(body, pattern):
    total = 0.0
    for line in samples(body):
        if re.match(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
    return total

def q(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]

rows = []
for name in ("pgvigil", "exporter"):
    r = result[name]
    rows.append({
        "p50": statistics.median(r["latencies"]) * 1e3,
        "p99": q(r["latencies"], 0.99) * 1e3,
        "cpu": r["cpu"],
        "rss": r["peak_rss"] / 1048576,
        "samples": len(samples(r["body"])),
        "server_ms": (va - vb) if name == "pgvigil" else (ea - eb),
        "scrapes": len(r["latencies"]),
    })
vigil_body = result["pgvigil"]["body"]
exported_calls = value(vigil_body, r'pg_stat_statements_calls_total\{[^}]*user="app"')
# Each distinct value seen is one poll; the first poll (a baseline that also looks up names and
# the agent's own statements) is left out when there are others.
polls = list(result["pgvigil"].get("polls", {}).values())
poll_ms = statistics.median(polls[1:] if len(polls) > 1 else polls) * 1e3

print("\n%d scrapes each, every 2 s" % rows[0]["scrapes"])
print("%-44s %12s %30s" % ("", "pgvigil", "prometheus-postgres-exporter"))
for label, key, fmt in [("scrape p50 (ms)", "p50", "%.2f"), ("scrape p99 (ms)", "p99", "%.2f"),
                        ("CPU during the run (s)", "cpu", "%.2f"), ("peak RSS (MB)", "rss", "%.1f"),
                        ("samples per scrape", "samples", "%d"),
                        ("server time in its own queries (ms)", "server_ms", "%.1f")]:
    print("%-44s %12s %30s" % (label, fmt % rows[0][key], fmt % rows[1][key]))
print("\npg_stat_statements calls of the workload role: server %d, pgvigil's series sum %d (%s)"
      % (server_calls, exported_calls, "exact" if server_calls == exported_calls else "DIFFERENT"))
print("statements poll: median %.1f ms over %d polls (whole collector run) vs bare SELECT ... "
      "FROM pg_stat_statements(false): %.1f ms (pgbench latency average) = %.2fx"
      % (poll_ms, max(len(polls) - 1, 1), bare_ms, poll_ms / bare_ms if bare_ms else float("nan")))
PY
