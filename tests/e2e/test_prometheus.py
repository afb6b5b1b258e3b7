"""The shipped alert rules and dashboards against a real Prometheus scraping a running agent:
real connection saturation, and a real application (a pool that validates each connection with
SELECT 1 and wraps its work in transactions) with 8% of its requests failing and then a 1.2 s
business query, must raise PostgresConnectionUsageHigh, PostgresErrorRateHigh and
PostgresMeanQueryTimeHigh, and a PgBouncer pool saturated by real clients PgBouncerPoolUsageHigh
(pending or firing; the shipped `for:` durations are not shortened),
and every dashboard query must return data: a second primary with a streaming standby on a
physical slot (tests/e2e/pgcluster.py) gives the replication dashboard its standby, receiver and
slot series, as the PgBouncer target gives the PgBouncer dashboard its pools. A fast scrape and
evaluation interval (1 s) keeps it short; so does a copy of the rules whose 5-minute and 1-minute windows (and the full-window
guards) are all 20 s, the only change made to them (the promtool tests cover the real windows
and the alert shapes they make)."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

import harness
import pgcluster

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "tests", "dashboards"))
import lint_dashboards  # noqa: E402

RULES = os.path.join(harness.SOURCE_DIR, "alerts", "pgvigil.rules.yml")
DASHBOARDS = os.path.join(harness.SOURCE_DIR, "dashboards")
MAJOR = int(os.environ.get("PGVIGIL_TEST_MAJOR", "15"))
# Panels whose series the server under test cannot have: (dashboard, panel title) -> the first
# PostgreSQL major that has them (pg_replication_slots.wal_status and safe_wal_size are 13+).
SINCE_MAJOR = {("pgvigil-replication.json", "Slot WAL status"): 13,
               ("pgvigil-replication.json", "Slot WAL left before invalidation"): 13}


def run_psql(sql, user="it_user", password="it-pw", dbname="pgvigil_it"):
    env = dict(os.environ, PGPASSWORD=password)
    subprocess.run(["psql", "-X", "-q", "-h", harness.HOST, "-p", harness.PORT, "-U", user,
                    "-d", dbname, "-c", sql], env=env, capture_output=True, timeout=200)


WINDOW = "20s"


class Prometheus:
    def __init__(self, agent_port):
        self.dir = tempfile.mkdtemp(prefix="pgvigil-prometheus-")
        self.port = harness.free_port()
        rules = os.path.join(self.dir, "pgvigil.rules.yml")
        with open(RULES) as f, open(rules, "w") as out:
            text = f.read()
            for window in ("5m", "1m"):
                text = (text.replace("[%s]" % window, "[%s]" % WINDOW)
                        .replace("offset " + window, "offset " + WINDOW))
            out.write(text)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: pgvigil\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (rules, agent_port))
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.process = subprocess.Popen(
            ["prometheus", "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        harness.wait_for(self._ready, 30, what="Prometheus to start")

    def _ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def alert_states(self):
        return {a["labels"]["alertname"]: a["state"] for a in self.api("alerts")["alerts"]}

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


class PrometheusTest(unittest.TestCase):
    def test_alerts_fire_and_dashboards_have_data(self):
        harness.require_environment(self)
        log_path = os.path.join(harness.PGDATA, "log", "postgresql.json")
        # A primary with a standby streaming through a physical slot, a limit on what the slot
        # may retain (safe_wal_size) where the major has one, a second slot nobody consumes,
        # and a prepared transaction holding the xmin horizon.
        origin = pgcluster.Server.primary(
            conf=["max_prepared_transactions = 2"] +
                 (["max_slot_wal_keep_size = '1GB'"] if MAJOR >= 13 else []))
        self.addCleanup(origin.close)
        standby = origin.standby(slot="standby1")
        self.addCleanup(standby.close)
        standby.wait_streaming(origin)
        origin.sql("SELECT pg_create_physical_replication_slot('spare', true)")
        origin.sql("CREATE TABLE prepared_here (id int); BEGIN; INSERT INTO prepared_here "
                   "VALUES (1); PREPARE TRANSACTION 'dashboard_xmin'")
        bouncer = harness.PgBouncer(pool_size=2)
        agent = harness.Agent(harness.config(
            [("primary", harness.dsn(), "collectors: {log: true}",
              "log_source: {path: %s, format: jsonlog}" % log_path),
             ("bouncer", bouncer.dsn(), "kind: pgbouncer"),
             ("origin", origin.dsn()), ("standby", standby.dsn())],
            defaults={"database_interval": "1s", "statements_interval": "1s",
                      "replication_interval": "1s", "maintenance_interval": "1s"},
            extra="health:\n  window: %s\n" % WINDOW))
        harness.psql("DROP TABLE IF EXISTS prom_bookings", user="it_user", password="it-pw",
                     dbname="pgvigil_it")
        harness.psql("CREATE TABLE prom_bookings (id int PRIMARY KEY); "
                     "INSERT INTO prom_bookings VALUES (0)", user="it_user", password="it-pw",
                     dbname="pgvigil_it")
        sessions = harness.Sessions()
        stop = threading.Event()
        sleeper = worker = bounced = threading.Thread()
        background = []
        prometheus = None
        try:
            # Conditions every panel needs: an open idle transaction, a long active query.
            held = subprocess.Popen(
                ["psql", "-X", "-q", "-h", harness.HOST, "-p", harness.PORT, "-U", "it_user",
                 "-d", "pgvigil_it"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, text=True,
                env=dict(os.environ, PGPASSWORD="it-pw"))
            held.stdin.write("BEGIN;\nSELECT 1;\n")
            held.stdin.flush()
            background.append(held)
            sleeper = threading.Thread(target=run_psql, args=("SELECT pg_sleep(170)",))
            sleeper.start()
            # The PgBouncer pool of pgvigil_it (2 server connections) held by two transactions,
            # a third client waiting; light traffic through its postgres pool meanwhile.
            for _ in range(2):
                background.append(bouncer.client("BEGIN; SELECT pg_sleep(170); COMMIT"))
            harness.wait_for(lambda: harness.sample(
                agent.metrics(), "pgbouncer_pool_server_connections", target="bouncer",
                database="pgvigil_it", state="active") == 2, 20, what="the bouncer's pool full")
            background.append(bouncer.client("SELECT 1"))

            def through_bouncer():
                while not stop.is_set():
                    bouncer.client("SELECT 1", dbname="postgres").wait()
                    time.sleep(0.5)
            bounced = threading.Thread(target=through_bouncer)
            bounced.start()

            # A booking application: 8% of its requests hit a unique violation; in its slow
            # phase the business query takes 1.2 s.
            slow_phase = threading.Event()

            def traffic():
                pool = harness.Pool(3, "it_user", "it-pw", "pgvigil_it")
                sent = 0
                try:
                    while not stop.is_set():
                        for _ in range(25):
                            sent += 1
                            if slow_phase.is_set():
                                pool.request("SELECT pg_sleep(1.2);")
                            elif sent % 25 < 2:
                                pool.request("INSERT INTO prom_bookings VALUES (0);")
                            else:
                                pool.request("INSERT INTO prom_bookings VALUES (%d);" % sent)
                        time.sleep(3.6 if slow_phase.is_set() else 0.5)
                finally:
                    pool.close()
            worker = threading.Thread(target=traffic)
            worker.start()

            prometheus = Prometheus(agent.port)
            harness.wait_for(lambda: prometheus.api("query", query='up{job="pgvigil"}')["result"],
                             20, what="the first scrape")
            usable = harness.sample(agent.metrics(), "pg_connections_max", target="primary")
            used = harness.sample(agent.metrics(), "pg_connections_used", target="primary")
            sessions.open(int(usable * 0.92) - int(used) + 1)

            # Other connections come and go meanwhile (the agent's connect probes, PgBouncer
            # opening a server connection), and a session refused while they were there is
            # gone: top up, one session at a time, until the agent sees more than 90%.
            def saturated():
                samples = agent.metrics()
                ratio = (harness.sample(samples, "pg_connections_used", target="primary") /
                         harness.sample(samples, "pg_connections_max", target="primary"))
                if ratio > 0.9:
                    return ratio
                sessions.open(1)
                return None
            harness.wait_for(saturated, 30, interval=1.5, what="connection usage above 90%")

            wanted = {"PostgresConnectionUsageHigh", "PostgresErrorRateHigh",
                      "PgBouncerPoolUsageHigh", "PgBouncerClientsWaiting"}
            seen = {}

            def all_wanted():
                seen.clear()
                seen.update(prometheus.alert_states())
                return dict(seen) if wanted <= set(seen) else None
            try:
                states = harness.wait_for(all_wanted, 90, what="the four alerts pending or firing")
            except AssertionError as e:
                raise AssertionError("%s; alerts seen: %s; /health: %s" % (
                    e, seen, [(t["name"], t["reasons"]) for t in
                              agent.health().json()["targets"]])) from None
            pool_alert = [a for a in prometheus.api("alerts")["alerts"]
                          if a["labels"]["alertname"] == "PgBouncerPoolUsageHigh"][0]
            self.assertEqual((pool_alert["labels"]["target"], pool_alert["labels"]["database"],
                              pool_alert["labels"]["user"]), ("bouncer", "pgvigil_it", "it_user"))
            self.assertEqual(float(pool_alert["value"]), 1.0)
            for name in wanted:
                self.assertIn(states[name], ("pending", "firing"))
            # What Prometheus computed is what /health says, and what the test sent: 8%.
            ratio = float(prometheus.api("query",
                                         query='pgvigil:error_ratio:rate5m{target="primary"}')
                          ["result"][0]["value"][1])
            health = agent.health().json()["targets"][0]["errors"]["error_ratio"]
            print("\nerror ratio: Prometheus %.4f, /health %s, truth 0.08" % (ratio, health),
                  file=sys.stderr)
            self.assertAlmostEqual(ratio, 0.08, delta=0.08 * 0.2)
            self.assertAlmostEqual(health, 0.08, delta=0.08 * 0.2)

            slow_phase.set()
            harness.wait_for(lambda: "PostgresMeanQueryTimeHigh" in prometheus.alert_states(),
                             90, what="PostgresMeanQueryTimeHigh pending")

            def slow_mean():
                checks = {c["name"]: c
                          for c in agent.health().json()["targets"][0]["checks"]}
                mean = checks["mean_query_time"].get("value_ms")
                return mean if mean and abs(mean - 1200) <= 240 else None
            mean = harness.wait_for(slow_mean, 60, what="mean_query_time near 1.2 s")
            print("mean query time in the slow phase: /health %.1f ms, truth 1200 ms" % mean,
                  file=sys.stderr)
            alert = [a for a in prometheus.api("alerts")["alerts"]
                     if a["labels"]["alertname"] == "PostgresConnectionUsageHigh"][0]
            self.assertEqual(alert["labels"]["target"], "primary")
            self.assertEqual(alert["labels"]["job"], "pgvigil")
            self.assertEqual(alert["labels"]["severity"], "critical")
            self.assertIn("runbook_url", alert["annotations"])
            self.assertGreater(float(alert["value"]), 0.9)

            # The lint, against this agent's live output (every collector on).
            with open(RULES) as f:
                rules = f.read()
            problems, _ = lint_dashboards.lint(DASHBOARDS, rules, agent.get("/metrics").body)
            self.assertEqual(problems, [])

            # Every dashboard query, and every variable's series, returns data.
            empty = []
            for name in sorted(os.listdir(DASHBOARDS)):
                if not name.endswith(".json"):
                    continue
                with open(os.path.join(DASHBOARDS, name)) as f:
                    board = json.load(f)
                queries = [(p["title"], t["expr"]) for p in board["panels"]
                           for t in p.get("targets", [])]
                for var in board["templating"]["list"]:
                    if var["type"] == "query":
                        inner = var["query"]["query"][len("label_values("):].rsplit(",", 1)[0]
                        queries.append(("variable " + var["name"], inner))
                for title, expr in queries:
                    if MAJOR < SINCE_MAJOR.get((name, title), 0):
                        continue
                    promql = lint_dashboards.substitute(expr).replace("[5m]", "[30s]")
                    if not prometheus.api("query", query=promql)["result"]:
                        empty.append("%s / %s: %s" % (name, title, promql))
            self.assertEqual(empty, [], "dashboard queries without data")

            # The slot nobody consumes retains WAL: PostgresReplicationSlotInactive goes pending
            # for it (and only for it: the standby's slot is active).
            def alerts_named(alertname):
                return [a for a in prometheus.api("alerts")["alerts"]
                        if a["labels"]["alertname"] == alertname]
            inactive = harness.wait_for(
                lambda: alerts_named("PostgresReplicationSlotInactive") or None, 60,
                what="PostgresReplicationSlotInactive pending")
            self.assertEqual([(a["labels"]["target"], a["labels"]["slot_name"], a["state"])
                              for a in inactive], [("origin", "spare", "pending")])
            self.assertEqual(alerts_named("PostgresStandbyNotStreaming"), [])
            # The primary stops: the standby's receiver stops streaming, and the alert goes
            # pending for the standby target.
            origin.stop()
            broken = harness.wait_for(
                lambda: alerts_named("PostgresStandbyNotStreaming") or None, 90,
                what="PostgresStandbyNotStreaming pending")
            self.assertEqual([(a["labels"]["target"], a["state"]) for a in broken],
                             [("standby", "pending")])
            print("live Prometheus: PostgresReplicationSlotInactive pending for slot spare, "
                  "PostgresStandbyNotStreaming pending once the primary stopped",
                  file=sys.stderr)
        finally:
            stop.set()
            sessions.close()
            for process in background:
                process.kill()
                process.wait()
                if process.stdin:
                    process.stdin.close()
            harness.psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                         "WHERE query LIKE '%pg_sleep(170)%' AND pid <> pg_backend_pid()")
            for thread in (sleeper, worker, bounced):
                if thread.is_alive():
                    thread.join(timeout=30)
            if prometheus:
                prometheus.close()
            agent.close()
            bouncer.close()
            harness.terminate_backends("it_user")


if __name__ == "__main__":
    unittest.main()
