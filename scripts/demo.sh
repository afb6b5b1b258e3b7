#!/usr/bin/env bash
# One command to see pgvigil work: installs what is missing, builds, starts a throwaway
# PostgreSQL with a small pgbench workload (plus an idle-in-transaction session and a slow
# query now and then), runs the agent against it, and prints the URLs. Ctrl-C stops everything.
#   scripts/demo.sh [--with-prometheus]   the option also starts Prometheus with the shipped
#                                         alert rules, scraping the agent every 5 s
set -euo pipefail
with_prometheus=false
for arg in "$@"; do
  case "$arg" in
    --with-prometheus) with_prometheus=true ;;
    *) echo "usage: scripts/demo.sh [--with-prometheus]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target pgvigil

# shellcheck source=scripts/lib-postgres.sh
source scripts/lib-postgres.sh
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_cleanup
}
trap cleanup EXIT INT TERM

pg_start
pg_psql <<'SQL'
CREATE EXTENSION pg_stat_statements;
CREATE ROLE monitor LOGIN PASSWORD 'demo-monitor-pw' IN ROLE pg_monitor;
CREATE ROLE app LOGIN PASSWORD 'demo-app-pw';
CREATE DATABASE app OWNER app;
SQL
export PGPASSWORD=demo-app-pw
"$PGV_PGBIN/pgbench" -i -q -s 2 -h 127.0.0.1 -p "$PGV_PGPORT" -U app app >/dev/null 2>&1

# Steady traffic from a small pool, as a web backend would send it.
"$PGV_PGBIN/pgbench" -n -c 4 -j 2 -T 86400 -R 50 -h 127.0.0.1 -p "$PGV_PGPORT" -U app app \
  >/dev/null 2>&1 &
pids+=($!)
# A few failing requests (a duplicate key, as a retried insert gets), so the error ratio has
# something to show.
(while true; do
   psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app \
     -c "INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)" >/dev/null 2>&1 || true
   sleep 2
 done) &
pids+=($!)
# A forgotten transaction, and a slow query every half minute.
(while true; do
   printf 'BEGIN;\nSELECT 1;\n\\! sleep 25\nCOMMIT;\n' |
     psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app >/dev/null 2>&1 || true
   psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app -c "SELECT pg_sleep(3)" \
     >/dev/null 2>&1 || true
 done) &
pids+=($!)
unset PGPASSWORD

port=${PGVIGIL_DEMO_PORT:-9432}
export PGVIGIL_DSN="postgresql://monitor:demo-monitor-pw@127.0.0.1:$PGV_PGPORT/postgres"
build/pgvigil --web.listen-address="127.0.0.1:$port" &
pids+=($!)
prometheus_line=""
if $with_prometheus; then
  prometheus_port=${PGVIGIL_DEMO_PROMETHEUS_PORT:-9090}
  mkdir -p "$PGV_PGROOT/prometheus"
  cat >"$PGV_PGROOT/prometheus/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $root/alerts/pgvigil.rules.yml
scrape_configs:
  - job_name: pgvigil
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
  prometheus --config.file="$PGV_PGROOT/prometheus/prometheus.yml" \
    --storage.tsdb.path="$PGV_PGROOT/prometheus/data" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$PGV_PGROOT/prometheus/log" 2>&1 &
  pids+=($!)
  prometheus_line="  http://127.0.0.1:$prometheus_port/alerts   Prometheus with pgvigil's alert rules"
fi
sleep 1
cat <<EOT

pgvigil is watching a throwaway PostgreSQL on port $PGV_PGPORT (embedded zero-config mode,
DSN from PGVIGIL_DSN). Open:

  http://127.0.0.1:$port/           status page
  http://127.0.0.1:$port/metrics    Prometheus metrics
  http://127.0.0.1:$port/health     JSON health report
$prometheus_line

Press Ctrl-C to stop the agent, the workload and the server.
EOT
wait
