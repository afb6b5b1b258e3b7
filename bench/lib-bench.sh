# Sourced by the bench scripts from the repository root: installs what is missing (the peer
# exporter included), builds the agent, loads the throwaway-server helpers, and on exit stops
# every process in bench_pids and removes every directory in bench_dirs, then the server.
scripts/install-deps.sh --bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target pgvigil >/dev/null

# shellcheck source=scripts/lib-postgres.sh
source scripts/lib-postgres.sh
bench_pids=()
bench_dirs=()
bench_cleanup() {
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_cleanup
  for dir in "${bench_dirs[@]}"; do rm -rf "$dir"; done
}
trap bench_cleanup EXIT
