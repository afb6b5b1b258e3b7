#!/usr/bin/env bash
# One command to see pgvigil work: installs what is missing, builds, starts a throwaway
# PostgreSQL with a small pgbench workload (plus an idle-in-transaction session and a slow
# query now and then), a streaming standby of it on a physical replication slot, and a
# PgBouncer in transaction mode in front of it that part of the workload goes through, as named
# applications; runs the agent against all three, and prints the URLs. Ctrl-C stops everything.
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

port=${PGVIGIL_DEMO_PORT:-9432}
prometheus_port=${PGVIGIL_DEMO_PROMETHEUS_PORT:-9090}
# A port someone else listens on would leave the demo printing URLs that answer with their
# service. (A port merely in TIME_WAIT after a previous run is fine: the agent reuses it.)
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_taken "$port"; then
  echo "demo: port $port is in use; choose another with PGVIGIL_DEMO_PORT=<port>" >&2
  exit 1
fi
if $with_prometheus && port_taken "$prometheus_port"; then
  echo "demo: port $prometheus_port is in use; choose another with PGVIGIL_DEMO_PROMETHEUS_PORT=<port>" >&2
  exit 1
fi

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if [[ ! -x build/pgvigil ]]; then
  # A clean Release build of the agent costs about 70 CPU-seconds on the reference machine
  # (docs/benchmarks.md), spread over this machine's cores.
  build_core_seconds=70
  minutes=$(( (build_core_seconds + 60 * $(nproc) - 1) / (60 * $(nproc)) ))
  echo "demo: building pgvigil (about $minutes minute(s) on a first run with $(nproc) core(s); seconds afterwards)"
fi
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
unset PGPASSWORD
# A streaming standby on the physical slot standby1, copied from the primary before the
# workload starts (the copy stops the primary for a moment); pg_cleanup stops it on exit.
pg_start_standby standby1 || { echo "demo: the standby did not start streaming" >&2; exit 1; }
streaming=$(pg_psql -At -c "SELECT state FROM pg_stat_replication WHERE application_name = 'standby1'")
[[ "$streaming" == streaming ]] ||
  { echo "demo: the primary does not see standby1 streaming (${streaming:-no row})" >&2; exit 1; }
export PGPASSWORD=demo-app-pw

# Steady traffic from a small pool, as a web backend would send it.
PGAPPNAME=web-backend "$PGV_PGBIN/pgbench" -n -c 4 -j 2 -T 86400 -R 50 -h 127.0.0.1 \
  -p "$PGV_PGPORT" -U app app >/dev/null 2>&1 &
pids+=($!)
# A few failing requests (a duplicate key, as a retried insert gets, and now and then a bad
# cast), so errors by SQLSTATE, the error ratio and the recent errors have something to show.
(while true; do
   PGAPPNAME=orders-worker psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app \
     -c "INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)" >/dev/null 2>&1 || true
   (( RANDOM % 5 == 0 )) &&
     { PGAPPNAME=orders-worker psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app \
         -c "SELECT 'n/a'::int" >/dev/null 2>&1 || true; }
   sleep 2
 done) &
pids+=($!)
# A forgotten transaction, and one slow statement every half minute.
(while true; do
   printf 'BEGIN;\nSELECT 1;\n\\! sleep 25\nCOMMIT;\n' |
     PGAPPNAME=admin-console psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app \
       >/dev/null 2>&1 || true
   PGAPPNAME=nightly-report psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U app app \
     -c "SELECT count(*), pg_sleep(3) FROM pgbench_accounts" >/dev/null 2>&1 || true
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

config="$PGV_PGROOT/pgvigil.yaml"
# The log collector follows the server's jsonlog file: errors by SQLSTATE, the error ratio
# from the log, and the recent errors in /health.
cat >"$config" <<YAML
targets:
  - name: primary
    dsn: "postgresql://monitor:demo-monitor-pw@127.0.0.1:$PGV_PGPORT/postgres"
    collectors: {log: true}
    log_source: {path: $PGV_PGDATA/log/postgresql.json, format: jsonlog}
  - name: standby
    dsn: "postgresql://monitor:demo-monitor-pw@127.0.0.1:$PGV_STANDBY_PGPORT/postgres"
  - name: bouncer
    kind: pgbouncer
    dsn: "host=127.0.0.1 port=$bouncer_port dbname=pgbouncer user=stats password=demo-stats-pw"
YAML
build/pgvigil --config.file="$config" --web.listen-address="127.0.0.1:$port" &
agent_pid=$!
pids+=("$agent_pid")
prometheus_line=""
if $with_prometheus; then
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
  prometheus_pid=$!
  pids+=("$prometheus_pid")
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null 2>&1 && break
    kill -0 "$prometheus_pid" 2>/dev/null ||
      { echo "demo: Prometheus exited:" >&2; tail -5 "$PGV_PGROOT/prometheus/log" >&2; exit 1; }
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null ||
    { echo "demo: Prometheus is not ready on port $prometheus_port" >&2; exit 1; }
  # Builds without the React UI (Debian's 2.42) serve only the classic pages.
  alerts_page=/alerts
  curl -fsS "http://127.0.0.1:$prometheus_port/alerts" >/dev/null 2>&1 || alerts_page=/classic/alerts
  curl -fsS "http://127.0.0.1:$prometheus_port$alerts_page" >/dev/null ||
    { echo "demo: Prometheus serves no alerts page on port $prometheus_port" >&2; exit 1; }
  prometheus_line="  http://127.0.0.1:$prometheus_port$alerts_page   Prometheus with pgvigil's alert rules"
fi
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "demo: the agent exited; see above" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null ||
  { echo "demo: the agent does not answer on port $port" >&2; exit 1; }
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "demo: part of the workload (pid $pid) exited" >&2; exit 1; }
done
# The headline numbers need the log collector: say so now if it cannot read the server's log.
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
    grep -q '^pgvigil_collector_success{target="primary",collector="log"} 1$' && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/metrics" |
  grep -q '^pgvigil_collector_success{target="primary",collector="log"} 1$' ||
  { echo "demo: the log collector cannot read $PGV_PGDATA/log/postgresql.json" >&2; exit 1; }
cat <<EOT

pgvigil is watching a throwaway PostgreSQL on port $PGV_PGPORT (target "primary"), its
streaming standby on port $PGV_STANDBY_PGPORT (target "standby", physical slot standby1) and the
PgBouncer in front of it on port $bouncer_port (target "bouncer"). Applications web-backend,
orders-worker (failing now and then), admin-console (idle in transaction) and nightly-report
(a slow statement) connect directly; checkout-fn, search-fn and report-fn go through PgBouncer.
The agent's config: $config. Open:

  http://127.0.0.1:$port/           status page
  http://127.0.0.1:$port/metrics    Prometheus metrics
  http://127.0.0.1:$port/health     JSON health report
$prometheus_line

Press Ctrl-C to stop the agent, the workload and the servers.
EOT
wait
