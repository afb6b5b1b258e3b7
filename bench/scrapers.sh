#!/usr/bin/env bash
# Many scrapers at once: pgvigil against Debian's prometheus-postgres-exporter, both watching
# one throwaway PostgreSQL under their own pg_monitor roles. For each agent in turn and for each
# number of concurrent scrapers (default 8, then 50), every scraper makes SCRAPES scrapes of
# /metrics (default 20), each on a new connection, as independent Prometheus servers, federation
# or curl loops do; all scrapers start together. Prints, side by side, p50/p90/p99/max scrape
# latency (connect included) and each listening socket's backlog as `ss -ltn` shows it (the
# Send-Q of a listening socket). Every scrape must answer 200 with a body of the announced length.
#
# A listen backlog smaller than the burst makes the connections beyond it wait for the client's
# SYN retransmission (a whole second), which shows up in p99 and max.
#   bench/scrapers.sh [SCRAPES] [CONCURRENCY...]
# PGVIGIL_BINARY=path runs another build of the agent (default build/pgvigil, Release).
set -euo pipefail
cd "$(dirname "$0")/.."
scrapes=${1:-20}
shift || true
concurrency=("$@")
[[ ${#concurrency[@]} -gt 0 ]] || concurrency=(8 50)

source bench/lib-bench.sh
agent_binary=${PGVIGIL_BINARY:-build/pgvigil}
work=$(mktemp -d /tmp/pgvigil-scrapers.XXXXXX)
bench_dirs+=("$work")
pg_start
pg_psql >/dev/null <<'SQL'
CREATE EXTENSION pg_stat_statements;
CREATE ROLE vigil LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor;
CREATE ROLE exporter LOGIN PASSWORD 'bench-pw' IN ROLE pg_monitor;
SQL

dsn() { echo "postgresql://$1:bench-pw@127.0.0.1:$PGV_PGPORT/postgres?sslmode=disable"; }
agent_port=$(free_port)
exporter_port=$(free_port)
cat >"$work/pgvigil.yaml" <<YAML
targets:
  - name: bench
    dsn: "$(dsn vigil)"
YAML
"$agent_binary" --config.file="$work/pgvigil.yaml" \
  --web.listen-address="127.0.0.1:$agent_port" --log.level=warn &
bench_pids+=($!)
DATA_SOURCE_NAME=$(dsn exporter) prometheus-postgres-exporter \
  --web.listen-address="127.0.0.1:$exporter_port" --log.level=warn >"$work/exporter.log" 2>&1 &
bench_pids+=($!)
sleep 3

# The Send-Q of the listening socket on PORT: its backlog.
backlog() { ss -ltnH "sport = :$1" | awk '{print $3; exit}'; }
agent_backlog=$(backlog "$agent_port")
exporter_backlog=$(backlog "$exporter_port")

echo "$(nproc) cores, net.core.somaxconn $(cat /proc/sys/net/core/somaxconn);" \
  "${concurrency[*]} concurrent scrapers, $scrapes scrapes each on new connections ..."
python3 - "$agent_port" "$exporter_port" "$agent_backlog" "$exporter_backlog" "$scrapes" \
  "${concurrency[@]}" <<'PY'
import http.client, sys, threading, time

agent_port, exporter_port = int(sys.argv[1]), int(sys.argv[2])
backlogs = {"pgvigil": sys.argv[3], "exporter": sys.argv[4]}
scrapes = int(sys.argv[5])
concurrency = [int(n) for n in sys.argv[6:]]
ports = {"pgvigil": agent_port, "exporter": exporter_port}


def scrape(port):
    """Seconds for one scrape on a new connection, connect included; raises unless a 200 with
    the whole body announced."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/metrics", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()  # IncompleteRead if shorter than Content-Length
        if response.status != 200:
            raise RuntimeError("scrape answered %d" % response.status)
        length = response.getheader("Content-Length")
        if length is not None and int(length) != len(body):
            raise RuntimeError("body of %d bytes, %s announced" % (len(body), length))
        if not body.endswith(b"\n"):
            raise RuntimeError("body does not end with a newline")
    finally:
        conn.close()
    return time.perf_counter() - start


def run(port, clients):
    latencies, failures = [], []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client():
        start.wait()
        for _ in range(scrapes):
            try:
                elapsed = scrape(port)
                with lock:
                    latencies.append(elapsed)
            except Exception as error:  # counted and reported, never hidden
                with lock:
                    failures.append(repr(error))
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures


def q(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


for port in ports.values():
    scrape(port)  # a first scrape each, outside the figures
rows = [("listen backlog (ss -ltn Send-Q)", backlogs["pgvigil"], backlogs["exporter"])]
failed = False
for clients in concurrency:
    results = {}
    for name, port in ports.items():
        latencies, failures = run(port, clients)
        if failures:
            failed = True
            print("%s, %d scrapers: %d of %d scrapes failed, first: %s" % (
                name, clients, len(failures), clients * scrapes, failures[0]))
        results[name] = latencies
    for label, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        rows.append(("%d scrapers, %s (ms)" % (clients, label),
                     *("%.1f" % (q(results[name], p) * 1e3) if results[name] else "-"
                       for name in ports)))
print("\n%-34s %10s %30s" % ("", "pgvigil", "prometheus-postgres-exporter"))
for label, agent, exporter in rows:
    print("%-34s %10s %30s" % (label, agent, exporter))
sys.exit(1 if failed else 0)
PY
