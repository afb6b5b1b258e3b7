#!/usr/bin/env bash
# One command to see pgvigil work: installs what is missing, builds, starts a throwaway
# PostgreSQL with a small pgbench workload (plus an idle-in-transaction session and a slow
# query now and then) and a PgBouncer in transaction mode in front of it that part of the
# workload goes through, as named applications; runs the agent against both, and prints the
# URLs. Ctrl-C stops everything.
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
  # A second Ctrl-C (or a signal to the whole process group) must not cut the cleanup short.
  trap '' INT TERM
  trap - EXIT
  echo
  echo "demo: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ -f "${bouncer_dir:-/nonexistent}/pgbouncer.pid" ]] &&
    kill -TERM "$(cat "$bouncer_dir/pgbouncer.pid")" 2>/dev/null || true
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

# PgBouncer in transaction mode in front of the server (it refuses to run as root): pool_size
# 4 for the app database, the admin console for the agent as a stats_users account.
bouncer_dir="$PGV_PGROOT/pgbouncer"
bouncer_port=$(free_port)
mkdir -p "$bouncer_dir"
printf '"app" "demo-app-pw"\n"stats" "demo-stats-pw"\n' >"$bouncer_dir/userlist.txt"
cat >"$bouncer_dir/pgbouncer.ini" <<INI
[databases]
app = host=127.0.0.1 port=$PGV_PGPORT dbname=app pool_size=4
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $bouncer_dir/userlist.txt
stats_users = stats
pool_mode = transaction
max_client_conn = 100
logfile = $bouncer_dir/pgbouncer.log
pidfile = $bouncer_dir/pgbouncer.pid
INI
[[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$bouncer_dir"
pg_as_postgres pgbouncer -d "$bouncer_dir/pgbouncer.ini" ||
  { echo "demo: PgBouncer did not start:" >&2; cat "$bouncer_dir/pgbouncer.log" >&2; exit 1; }
for _ in $(seq 50); do
  PGPASSWORD=demo-stats-pw psql -X -q -h 127.0.0.1 -p "$bouncer_port" -U stats pgbouncer \
    -c "SHOW VERSION" >/dev/null 2>&1 && break
  sleep 0.2
done
# Serverless-style functions through the pooler, each with its own application_name: short
# transactions, and one that holds its transaction while it "calls an API".
for fn in checkout-fn search-fn; do
  (while true; do
     PGAPPNAME=$fn PGPASSWORD=demo-app-pw psql -X -q -h 127.0.0.1 -p "$bouncer_port" -U app app \
       -c "SELECT abalance FROM pgbench_accounts WHERE aid = 1 + (random() * 1000)::int" \
       >/dev/null 2>&1 || true
     sleep 0.3
   done) &
  pids+=($!)
done
(while true; do
   PGAPPNAME=report-fn PGPASSWORD=demo-app-pw psql -X -q -h 127.0.0.1 -p "$bouncer_port" -U app app \
     -c "BEGIN; SELECT count(*) FROM pgbench_accounts; SELECT pg_sleep(2); COMMIT" \
     >/dev/null 2>&1 || true
 done) &
pids+=($!)

port=${PGVIGIL_DEMO_PORT:-9432}
config="$PGV_PGROOT/pgvigil.yaml"
cat >"$config" <<YAML
targets:
  - name: primary
    dsn: "postgresql://monitor:demo-monitor-pw@127.0.0.1:$PGV_PGPORT/postgres"
  - name: bouncer
    kind: pgbouncer
    dsn: "host=127.0.0.1 port=$bouncer_port dbname=pgbouncer user=stats password=demo-stats-pw"
YAML
build/pgvigil --config.file="$config" --web.listen-address="127.0.0.1:$port" &
agent_pid=$!
pids+=("$agent_pid")
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
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "demo: the agent exited; see above" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null ||
  { echo "demo: the agent does not answer on port $port" >&2; exit 1; }
cat <<EOT

pgvigil is watching a throwaway PostgreSQL on port $PGV_PGPORT (target "primary") and the
PgBouncer in front of it on port $bouncer_port (target "bouncer"; applications checkout-fn,
search-fn and report-fn go through it). Its config: $config. Open:

  http://127.0.0.1:$port/           status page
  http://127.0.0.1:$port/metrics    Prometheus metrics
  http://127.0.0.1:$port/health     JSON health report
$prometheus_line

Press Ctrl-C to stop the agent, the workload and the server.
EOT
wait
