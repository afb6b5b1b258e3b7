#!/usr/bin/env bash
# Runs the agent against a throwaway server under a steady workload for a while, with
# scrapers, slow clients and a SIGHUP every 10 s, and prints its RSS, open fds and threads
# every minute, side by side with Debian's prometheus-postgres-exporter scraped the same way.
# Not part of the test suite: a leak shows as a column that keeps growing.
#   bench/soak.sh [MINUTES]          # default 30
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
# shellcheck source=bench/lib-bench.sh
source bench/lib-bench.sh

pg_start "pg_stat_statements.max = 5000"
pg_psql -c "CREATE EXTENSION pg_stat_statements" -c "CREATE TABLE soak (id int PRIMARY KEY)"
dir=$(mktemp -d)
bench_dirs+=("$dir")
dsn="host=127.0.0.1 port=$PGV_PGPORT user=postgres dbname=postgres"
cat >"$dir/pgvigil.yaml" <<YAML
defaults:
  probe_interval: 1s
  activity_interval: 2s
  database_interval: 2s
  statements_interval: 5s
  collectors: {log: true}
  log_source: {path: $PGV_PGDATA/log/postgresql.json, format: jsonlog}
targets:
  - name: soak
    dsn: "$dsn"
YAML
agent_port=$(free_port)
build/pgvigil --config.file="$dir/pgvigil.yaml" --web.listen-address=127.0.0.1:$agent_port \
  >"$dir/agent.log" 2>&1 &
agent=$!
bench_pids+=("$agent")
exporter_port=$(free_port)
DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:$PGV_PGPORT/postgres?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address=127.0.0.1:$exporter_port \
  >"$dir/exporter.log" 2>&1 &
exporter=$!
bench_pids+=("$exporter")
sleep 2

# Workload: inserts, a few failing, distinct statements, as one pooled client would.
(
  i=0
  while true; do
    i=$((i + 1))
    pg_psql -c "INSERT INTO soak VALUES ($i)" -c "INSERT INTO soak VALUES (1)" \
      -c "SELECT $i + 1, ARRAY[$((i % 300))]" >/dev/null 2>&1 || true
    sleep 0.2
  done
) &
bench_pids+=("$!")
# Scrapers, slow clients, reloads.
(
  while true; do
    curl -s -o /dev/null "http://127.0.0.1:$agent_port/metrics"
    curl -s -o /dev/null "http://127.0.0.1:$agent_port/health"
    curl -s -o /dev/null "http://127.0.0.1:$exporter_port/metrics"
    sleep 1
  done
) &
bench_pids+=("$!")
python3 - "$agent_port" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
while True:
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    for s in clients:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    time.sleep(8)
    for s in clients:
        s.close()
PY
bench_pids+=("$!")
(while true; do sleep 10; kill -HUP "$agent"; done) &
bench_pids+=("$!")

stat() {  # PID -> "rss_kib fds threads"
  local pid=$1
  echo "$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status) $(ls /proc/"$pid"/fd | wc -l)" \
    "$(awk '/Threads/ {print $2}' /proc/"$pid"/status)"
}
printf "%-6s | %-28s | %-28s\n" minute "pgvigil rss_kib fds threads" "exporter rss_kib fds threads"
for minute in $(seq 0 "$minutes"); do
  kill -0 "$agent" || { echo "soak: the agent died"; cat "$dir/agent.log"; exit 1; }
  printf "%-6s | %-28s | %-28s\n" "$minute" "$(stat "$agent")" "$(stat "$exporter")"
  [[ $minute -lt $minutes ]] && sleep 60
done
