#!/usr/bin/env bash
# The core agent against Debian's prometheus-postgres-exporter, in one run, on one throwaway
# PostgreSQL: N targets (default 10) at default intervals.
#   - idle CPU: fraction of one core used over IDLE seconds while polling on its own schedule
#   - scrape latency p50/p99 over SCRAPES back-to-back /metrics requests, samples per scrape
#   - RSS after all of that, and the peak RSS
# The exporter gets the same N DSNs (comma-separated DATA_SOURCE_NAME, its multi-target mode),
# with its bgwriter and database collectors off: in 0.11.1 they emit colliding series in that
# mode and every scrape fails with HTTP 500; its default per-server metrics still run.
#   bench/core.sh [TARGETS] [IDLE_SECONDS] [SCRAPES]
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${1:-10}
idle=${2:-60}
scrapes=${3:-300}

source bench/lib-bench.sh
# Each target gets its own loopback address, so the exporter's series (labelled by host:port)
# do not collide; both agents watch the same addresses.
addresses=$(seq -s, -f '127.0.0.%g' 1 "$targets")
pg_start "max_connections = 100" "listen_addresses = '$addresses'"
echo "host all all 127.0.0.0/8 scram-sha-256" >>"$PGV_PGDATA/pg_hba.conf"
pg_psql -c "SELECT pg_reload_conf()" -c "CREATE EXTENSION pg_stat_statements" \
  -c "CREATE ROLE monitor LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor" >/dev/null

config=$(mktemp /tmp/pgvigil-bench.XXXXXX.yaml)
echo "targets:" >"$config"
dsns=()
for i in $(seq 1 "$targets"); do
  dsn="postgresql://monitor:bench-pw@127.0.0.$i:$PGV_PGPORT/postgres?sslmode=disable"
  printf '  - name: db%02d\n    dsn: "%s"\n' "$i" "$dsn" >>"$config"
  dsns+=("$dsn")
done

agent_port=$(free_port)
exporter_port=$(free_port)
build/pgvigil --config.file="$config" --web.listen-address="127.0.0.1:$agent_port" \
  --log.level=warn &
bench_pids+=($!)
agent_pid=$!
DATA_SOURCE_NAME=$(IFS=,; echo "${dsns[*]}") prometheus-postgres-exporter \
  --no-collector.bgwriter --no-collector.database \
  --web.listen-address="127.0.0.1:$exporter_port" --log.level=warn >/dev/null 2>&1 &
bench_pids+=($!)
exporter_pid=$!
sleep 5

echo "measuring idle CPU over ${idle}s for both at once, then ${scrapes} scrapes each ..."
python3 bench/measure.py --pid "$exporter_pid" --url "http://127.0.0.1:$exporter_port/metrics" \
  --idle "$idle" --scrapes 1 >/tmp/pgvigil-bench-exporter-idle.json &
measuring=$!
agent=$(python3 bench/measure.py --pid "$agent_pid" --url "http://127.0.0.1:$agent_port/metrics" \
  --idle "$idle" --scrapes "$scrapes")
wait "$measuring"
exporter_idle=$(cat /tmp/pgvigil-bench-exporter-idle.json)
exporter=$(python3 bench/measure.py --pid "$exporter_pid" \
  --url "http://127.0.0.1:$exporter_port/metrics" --scrapes "$scrapes")
rm -f "$config" /tmp/pgvigil-bench-exporter-idle.json

python3 - "$targets" "$agent" "$exporter" "$exporter_idle" <<'PY'
import json, sys
targets = sys.argv[1]
a, e, e_idle = (json.loads(x) for x in sys.argv[2:5])
e["idle_cpu_fraction"] = e_idle["idle_cpu_fraction"]
rows = [
    ("scrape p50 (ms)", "p50_ms", "%.2f"),
    ("scrape p99 (ms)", "p99_ms", "%.2f"),
    ("samples per scrape", "samples", "%d"),
    ("RSS after run (MB)", "rss_bytes", "%.1f"),
    ("peak RSS (MB)", "peak_rss_bytes", "%.1f"),
    ("idle CPU (% of a core)", "idle_cpu_fraction", "%.3f"),
    ("CPU for all scrapes (s)", "cpu_seconds_scraping", "%.2f"),
]
print("\n%d targets, %d scrapes each" % (int(targets), a["scrapes"]))
print("%-26s %14s %26s" % ("", "pgvigil", "prometheus-postgres-exporter"))
for label, key, fmt in rows:
    def show(d):
        v = d[key]
        if v is None:
            return "-"
        if "MB" in label:
            v = v / 1048576
        if "% of" in label:
            v = v * 100
        return fmt % v
    print("%-26s %14s %26s" % (label, show(a), show(e)))
PY
