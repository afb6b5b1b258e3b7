#!/usr/bin/env bash
# One agent watching a fleet: N targets (default 1000) spread over several throwaway PostgreSQL
# clusters on this machine (default 4), ten databases each, every cluster's pg_stat_statements
# holding STATEMENTS distinct statements (default 1000). Default intervals, as shipped.
# Prints, for the fleet agent: time until every target is up and the connect failures on the
# way, idle CPU, RSS, threads, fds, /metrics p50/p99/max asked with gzip (as Prometheus asks),
# and the mean SELECT 1 probe time across the fleet beside the same probe from a one-target
# agent running at the same time against the same server (the agent must not measure itself).
# The peer exporter is not run: it queries every DSN in turn on each scrape, and at this size a
# scrape would outlast Prometheus' timeout (bench/core.sh compares them at 10 targets).
#   bench/fleet.sh [TARGETS] [STATEMENTS] [CLUSTERS]
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${1:-1000}
statements=${2:-1000}
clusters=${3:-4}
databases=10

source bench/lib-bench.sh
ulimit -n "$(ulimit -Hn)"  # a thousand targets need more than the usual 1,024

cluster_data=()
cluster_root=()
cluster_port=()
fleet_cleanup() {
  bench_cleanup
  local i
  for i in "${!cluster_data[@]}"; do
    PGV_PGDATA=${cluster_data[$i]} PGV_PGROOT=${cluster_root[$i]} pg_cleanup
  done
}
trap fleet_cleanup EXIT

per_cluster=$(((targets + clusters - 1) / clusters))
echo "fleet: starting $clusters clusters, $databases databases and $statements statements each ..."
for c in $(seq 0 $((clusters - 1))); do
  pg_start "max_connections = $((per_cluster + 30))" \
    "pg_stat_statements.max = $((statements > 1000 ? statements + 500 : 1500))"
  cluster_data+=("$PGV_PGDATA")
  cluster_root+=("$PGV_PGROOT")
  cluster_port+=("$PGV_PGPORT")
  pg_psql -d template1 -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  pg_psql -c "CREATE ROLE monitor LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor" >/dev/null
  for d in $(seq 0 $((databases - 1))); do pg_psql -c "CREATE DATABASE fleet$d" >/dev/null; done
  # Distinct statements as pg_stat_statements tells them apart (by structure: neither constants
  # nor column aliases count): SELECT of the first k of 50 columns of one of N/50 tables.
  python3 -c "
import sys
n = int(sys.argv[1])
columns = ', '.join('c%d int' % j for j in range(1, 51))
for t in range((n + 49) // 50):
    print('CREATE TABLE s%d (%s);' % (t, columns))
for i in range(n):
    print('SELECT %s FROM s%d;' % (', '.join('c%d' % j for j in range(1, i % 50 + 2)), i // 50))
" "$statements" | pg_psql -d fleet0 >/dev/null
done
PGV_PGDATA=  # the clusters are stopped by fleet_cleanup, not by bench_cleanup

config=$(mktemp /tmp/pgvigil-fleet.XXXXXX.yaml)
bench_dirs+=("$config")
echo "targets:" >"$config"
for i in $(seq 0 $((targets - 1))); do
  c=$((i % clusters))
  d=$(((i / clusters) % databases))
  printf '  - name: db%04d\n    dsn: "postgresql://monitor:bench-pw@127.0.0.1:%s/fleet%d?sslmode=disable"\n' \
    "$i" "${cluster_port[$c]}" "$d" >>"$config"
done
single=$(mktemp /tmp/pgvigil-single.XXXXXX.yaml)
bench_dirs+=("$single")
printf 'targets:\n  - name: single\n    dsn: "postgresql://monitor:bench-pw@127.0.0.1:%s/fleet0?sslmode=disable"\n' \
  "${cluster_port[0]}" >"$single"

agent_port=$(free_port)
single_port=$(free_port)
log=$(mktemp /tmp/pgvigil-fleet.XXXXXX.log)
bench_dirs+=("$log")
build/pgvigil --config.file="$single" --web.listen-address="127.0.0.1:$single_port" \
  --log.level=warn >/dev/null 2>&1 &
bench_pids+=($!)
build/pgvigil --config.file="$config" --web.listen-address="127.0.0.1:$agent_port" \
  --log.level=warn >"$log" 2>&1 &
agent_pid=$!
bench_pids+=("$agent_pid")
sleep 0.3
echo "fleet: $targets targets started; measuring ..."
result=$(python3 bench/fleet_measure.py --pid "$agent_pid" --targets "$targets" \
  --url "http://127.0.0.1:$agent_port/metrics" --single-url "http://127.0.0.1:$single_port/metrics")
cannot_connect=$(grep -c "cannot connect" "$log" || true)

python3 - "$result" "$statements" "$clusters" "$cannot_connect" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
mb = 1048576
rows = [
    ("targets", "%d" % r["targets"]),
    ("clusters / statements each", "%s / %s" % (sys.argv[3], sys.argv[2])),
    ("start -> every target up (s)", "%.1f" % r["all_up_seconds"] if r["all_up_seconds"] else "not within 180 s"),
    ("targets that failed a first connect", sys.argv[4]),
    ("probe failures by reason", json.dumps(r["probe_failures_by_reason"]) or "{}"),
    ("collectors failing (targets)", json.dumps(r["collectors_failing"])),
    ("statements tracked per target", "%.0f" % r["statements_tracked_mean"]),
    ("RSS (MB)", "%.1f" % (r["rss_bytes"] / mb)),
    ("peak RSS (MB)", "%.1f" % (r["peak_rss_bytes"] / mb)),
    ("RSS per target (MB)", "%.3f" % (r["rss_bytes"] / mb / r["targets"])),
    ("status page history: MB / KB per target", "%.1f / %.1f" % (r["history_bytes"] / mb, r["history_bytes"] / 1024 / r["targets"])),
    ("threads / fds", "%d / %d" % (r["threads"], r["fds"])),
    ("idle CPU (% of a core)", "%.1f" % (r["idle_cpu_fraction"] * 100)),
    ("/metrics gzip p50 / p99 / max (ms)", "%.0f / %.0f / %.0f" % (r["scrape_p50_ms"], r["scrape_p99_ms"], r["scrape_max_ms"])),
    ("CPU per scrape (ms)", "%.0f" % (r["scrape_cpu_seconds_each"] * 1e3)),
    ("samples / body MB / gzip MB", "%d / %.1f / %.1f" % (r["samples"], r["body_bytes"] / mb, r["gzip_bytes"] / mb)),
    ("probe mean, fleet (ms)", "%.3f over %d probes" % (r["probe_mean_ms_fleet"] or 0, r["probes_fleet"])),
    ("probe mean, one-target agent (ms)", "%.3f over %d probes" % (r["probe_mean_ms_single"] or 0, r["probes_single"])),
]
if r["probe_mean_ms_fleet"] and r["probe_mean_ms_single"]:
    rows.append(("fleet / single probe", "%.2f" % (r["probe_mean_ms_fleet"] / r["probe_mean_ms_single"])))
print()
for label, value in rows:
    print("%-38s %s" % (label, value))
PY
