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
pg_start_test_server

ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
