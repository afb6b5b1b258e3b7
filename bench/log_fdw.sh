#!/usr/bin/env bash
# What one poll of the log_fdw log source costs the server, by the size of the file it follows:
# a throwaway PostgreSQL with the log_fdw stand-in (tests/standin/log_fdw.sql, over file_fdw),
# its csvlog file grown to each SIZE (MB, default 1 10 100) with LOG lines of about 200 bytes,
# then, as a role with the grants docs/logs.md lists, the statements of a poll timed with psql's
# \timing (client to server on the same host, median of RUNS, default 5):
#   listing  the check and the listing (every poll)
#   scan     the read of the last 100 rows (a poll where the file grew): the whole file is parsed
# Prints one line per size.
#   bench/log_fdw.sh [SIZE...]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1 10 100)
runs=${RUNS:-5}

source scripts/lib-postgres.sh
trap pg_cleanup EXIT
pg_start >/dev/null
pg_psql >/dev/null <<'SQL'
CREATE ROLE fdwbench LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor;
CREATE SCHEMA pgvigil AUTHORIZATION postgres;
GRANT USAGE, CREATE ON SCHEMA pgvigil TO fdwbench;
SQL
pg_psql -f tests/standin/log_fdw.sql >/dev/null
pg_psql >/dev/null <<'SQL'
GRANT USAGE ON FOREIGN SERVER log_server TO fdwbench;
GRANT EXECUTE ON FUNCTION list_postgres_log_files(),
  create_foreign_table_for_log_file(text, text, text) TO fdwbench;
SQL

as_role() {
  PGPASSWORD=bench-pw psql -X -q -h 127.0.0.1 -p "$PGV_PGPORT" -U fdwbench -d postgres \
    -v ON_ERROR_STOP=1 "$@"
}
# The median of the "Time: N ms" lines psql prints for `runs` runs of a statement.
median_ms() {
  local sql=$1
  { echo '\timing on'; for _ in $(seq "$runs"); do echo "$sql"; done; } |
    as_role -o /dev/null -f - | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n |
    awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

as_role -c "BEGIN READ WRITE" -c "SELECT set_config('search_path', 'pgvigil, ' || current_setting('search_path'), true)" \
  -c "SELECT create_foreign_table_for_log_file('pgvigil_log_csvlog', 'log_server', 'postgresql.csv')" \
  -c "COMMIT" >/dev/null
check="SELECT coalesce(has_function_privilege(to_regprocedure('list_postgres_log_files()')::oid, 'EXECUTE'), false), pg_is_in_recovery(), (SELECT substring(o FROM 10) FROM pg_foreign_table t, unnest(t.ftoptions) o WHERE t.ftrelid = to_regclass('\"pgvigil\".\"pgvigil_log_csvlog\"') AND o LIKE 'filename=%' LIMIT 1);"
listing="SELECT file_name, file_size_bytes FROM list_postgres_log_files() WHERE file_name LIKE '%.csv' ORDER BY file_name DESC LIMIT 1;"
printf '%8s %10s %12s %12s %12s\n' size_MB rows check_ms listing_ms scan_ms
for size in "${sizes[@]}"; do
  want=$((size * 1024 * 1024))
  while :; do
    have=$(stat -c %s "$PGV_PGDATA/log/postgresql.csv")
    [[ $have -lt $want ]] || break
    lines=$(( (want - have) / 200 + 1 ))
    [[ $lines -le 200000 ]] || lines=200000
    pg_psql -c "DO \$b\$BEGIN FOR i IN 1..$lines LOOP RAISE LOG 'pgvigil bench filler line %', i; END LOOP; END\$b\$" >/dev/null
    sleep 0.5
  done
  rows=$(as_role -At -c 'SELECT count(*) FROM pgvigil.pgvigil_log_csvlog')
  offset=$((rows > 100 ? rows - 100 : 0))
  scan="SELECT to_char(log_time AT TIME ZONE current_setting('log_timezone'), 'YYYY-MM-DD HH24:MI:SS.MS') || CASE WHEN log_time AT TIME ZONE current_setting('log_timezone') = log_time AT TIME ZONE 'UTC' THEN ' UTC' ELSE ' ' || current_setting('log_timezone') END AS log_time, process_id, error_severity, sql_state_code, message, application_name FROM \"pgvigil\".\"pgvigil_log_csvlog\" OFFSET $offset LIMIT 100000;"
  printf '%8s %10s %12s %12s %12s\n' "$(( $(stat -c %s "$PGV_PGDATA/log/postgresql.csv") / 1048576 ))" \
    "$rows" "$(median_ms "$check")" "$(median_ms "$listing")" "$(median_ms "$scan")"
done
