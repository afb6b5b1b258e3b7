#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, starts a throwaway PostgreSQL 15
# (pg_stat_statements preloaded, as the postgres user, on a free port in a temp dir) and runs
# every test through CTest: unit, integration (real server) and e2e (the built binary, real
# Prometheus tools). The server is always stopped on exit.
#   scripts/test.sh                 # everything
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh

if command -v clang-format >/dev/null; then
  if ! git ls-files '*.cpp' '*.h' | xargs -r clang-format --dry-run --Werror 2>/dev/null; then
    echo "test.sh: sources are not clang-formatted; run: git ls-files '*.cpp' '*.h' | xargs clang-format -i" >&2
    exit 1
  fi
fi

build=${PGVIGIL_BUILD_DIR:-$root/build-test}
cmake -S . -B "$build" -DPGVIGIL_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"

# shellcheck source=scripts/lib-postgres.sh
source scripts/lib-postgres.sh
trap pg_cleanup EXIT
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

export PGVIGIL_TEST_HOST=127.0.0.1
export PGVIGIL_TEST_PORT=$PGV_PGPORT
export PGVIGIL_TEST_PGDATA=$PGV_PGDATA PGVIGIL_TEST_PGBIN=$PGV_PGBIN PGVIGIL_TEST_PGLOG=$PGV_PGLOG
export PGVIGIL_TEST_SOCKET=$PGV_PGHOST

ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
