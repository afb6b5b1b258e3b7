"""The HTTP interface of a running agent: endpoints, status codes, exposition validity,
documented metrics, secrets, the connection budget, TLS and basic auth."""

import base64
import gzip
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
import unittest
import urllib.request

import harness

def promtool_problems(exposition):
    """Every line promtool's linter prints: none is tolerated (docs/metrics.md)."""
    r = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True,
                       text=True, timeout=60)
    return [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]


def documented_metrics():
    with open(os.path.join(harness.SOURCE_DIR, "docs", "metrics.md")) as f:
        text = f.read()
    return set(re.findall(r"^\| `([a-z_:][a-z0-9_:]*)`", text, re.MULTILINE))


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sessions = harness.Sessions()
        cls.sessions.open(2)  # so that pg_stat_activity_sessions has samples to check
        log_path = os.path.join(harness.PGDATA, "log", "postgresql.json")
        cls.agent = harness.Agent(harness.config(
            [("primary", harness.dsn(), "labels: {cluster: main}", "collectors: {log: true}",
              "log_source: {path: %s, format: jsonlog}" % log_path)]))
        harness.wait_for(lambda: harness.sample(cls.agent.metrics(), "pg_stat_activity_sessions",
                                                datname="pgvigil_it", state="idle"),
                         10, what="activity samples")

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        cls.sessions.close()

    def test_metrics_endpoint(self):
        r = self.agent.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        samples = harness.parse_metrics(r.body)
        self.assertEqual(harness.sample(samples, "pg_up", target="primary", cluster="main"), 1)
        self.assertEqual(harness.sample(samples, "pg_stat_activity_sessions", target="primary",
                                        datname="pgvigil_it", usename="it_user", state="idle"), 2)
        self.assertGreaterEqual(harness.sample(samples, "pg_connections_used"), 3)
        self.assertEqual(harness.sample(samples, "pg_connections_max"), 37)
        self.assertEqual(harness.sample(samples, "pg_settings_max_connections"), 40)
        self.assertEqual(harness.sample(samples, "pgvigil_collector_success",
                                        collector="activity"), 1)
        self.assertGreaterEqual(harness.sample(samples, "pg_probes_total"), 1)
        self.assertIsNotNone(harness.sample(samples, "pg_server_info", server_version_num=
                                            harness.psql("SHOW server_version_num")))
        self.assertEqual(harness.sample(samples, "pgvigil_build_info"), 1)
        self.assertGreater(harness.sample(samples, "process_resident_memory_bytes"), 0)

    def test_gzip_exposition_is_the_same_series(self):
        # As Prometheus asks: the body comes gzip-encoded, assembled from pieces compressed when
        # each target published, and decodes (CRC and length checked) to the same series.
        req = urllib.request.Request(self.agent.url("/metrics"),
                                     headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as r:
            self.assertEqual(r.headers["Content-Encoding"], "gzip")
            self.assertEqual(r.headers["Vary"], "Accept-Encoding")
            compressed = r.read()
        text = gzip.decompress(compressed).decode()
        self.assertEqual(promtool_problems(text), [])
        plain = self.agent.get("/metrics")
        self.assertNotIn("Content-Encoding", plain.headers)
        names = lambda body: sorted({line.split(" ")[0] for line in body.splitlines()
                                     if line and not line.startswith("#")})
        series_gzip, series_plain = names(text), names(plain.body)
        # The same series, but for any a collector added or dropped between the two scrapes.
        self.assertGreater(len(series_gzip), 100)
        self.assertLessEqual(len(set(series_gzip) ^ set(series_plain)), 10)
        # q=0 refuses gzip.
        refused = self.agent.request("/metrics", headers={"Accept-Encoding": "gzip;q=0"})
        self.assertNotIn("Content-Encoding", refused.headers)
        harness.parse_metrics(refused.body)

    def test_every_contract_metric_is_exported(self):
        # Every name in docs/metrics.md, with every collector on.
        contract = [
            "pg_up", "pg_probe_duration_seconds_bucket", "pg_probe_connect_duration_seconds_bucket",
            "pg_probes_total", "pg_probe_failures_total", "pg_probe_connect_refused_total",
            "pg_server_info", "pg_in_recovery",
            "pg_connections_max", "pg_connections_used", "pg_stat_activity_sessions",
            "pg_stat_activity_lock_waiters", "pg_stat_activity_slow_queries",
            "pg_database_connection_limit", "pg_settings_max_connections",
            "pg_stat_database_xact_commit_total", "pg_stat_database_xact_rollback_total",
            "pg_stat_database_deadlocks_total", "pg_stat_database_conflicts_total",
            "pg_stat_database_temp_files_total", "pg_stat_database_temp_bytes_total",
            "pg_stat_database_blks_read_total", "pg_stat_database_blks_hit_total",
            "pg_stat_database_sessions_total", "pg_stat_database_sessions_fatal_total",
            "pg_stat_database_sessions_killed_total", "pg_stat_database_sessions_abandoned_total",
            "pg_stat_statements_calls_total", "pg_stat_statements_seconds_total",
            "pg_stat_statements_rows_total", "pg_stat_statements_slow_statements",
            "pg_stat_statements_tracked", "pg_stat_statements_max",
            "pg_stat_statements_dealloc_total", "pg_log_messages_total",
            "pgvigil_collector_success", "pgvigil_collector_duration_seconds",
            "pgvigil_collector_last_success_timestamp_seconds", "pgvigil_collector_errors_total",
            "pgvigil_build_info", "process_resident_memory_bytes", "process_cpu_seconds_total",
            "process_start_time_seconds", "process_open_fds"]
        exported = {name for name, _ in self.agent.metrics()}
        self.assertEqual([n for n in contract if n not in exported], [])
        self.assertEqual(harness.sample(self.agent.metrics(), "pg_probe_failures_total",
                                        target="primary", reason="timeout"), 0)

    def test_promtool_accepts_live_exposition(self):
        self.assertEqual(promtool_problems(self.agent.get("/metrics").body), [])

    def test_every_exported_metric_is_documented(self):
        exported = {name for name, _ in self.agent.metrics()}
        families = {re.sub(r"_(bucket|sum|count)$", "", n) if n.startswith("pg_probe_") else n
                    for n in exported}
        missing = sorted(families - documented_metrics())
        self.assertEqual(missing, [], "exported but not in docs/metrics.md")

    def test_health_report_schema(self):
        r = self.agent.health()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        report = r.json()
        for key in ("status", "version", "uptime_seconds", "checked_at", "agent", "targets"):
            self.assertIn(key, report)
        self.assertEqual(report["status"], "ok")
        self.assertRegex(report["checked_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertGreater(report["agent"]["rss_bytes"], 0)
        self.assertIsInstance(report["agent"]["rss_bytes"], int)
        self.assertIsInstance(report["agent"]["cpu_seconds"], (int, float))
        self.assertIsInstance(report["uptime_seconds"], int)
        self.assertRegex(report["version"], r"^\d+\.\d+\.\d+$")
        target = report["targets"][0]
        self.assertEqual(target["name"], "primary")
        self.assertEqual(target["status"], "ok")
        self.assertIs(target["reachable"], True)
        self.assertEqual(target["server_version"], harness.psql("SHOW server_version").split()[0])
        self.assertIs(target["in_recovery"], False)
        self.assertIsNone(target["last_error"])
        for key in ("last", "p50", "p95", "p99", "connect_last"):
            self.assertIsInstance(target["latency_ms"][key], float, key)
        conn = target["connections"]
        for key in ("used", "max", "usage_ratio", "active", "idle", "idle_in_transaction",
                    "waiting"):
            self.assertIn(key, conn)
        self.assertEqual(conn["max"], 37)
        self.assertGreaterEqual(conn["idle"], 2)
        self.assertEqual(target["slow_queries"]["threshold_ms"], 1000)
        self.assertEqual(target["errors"]["window_seconds"], 300)
        checks = {c["name"]: c for c in target["checks"]}
        self.assertEqual(set(checks), {"reachable", "connection_usage", "error_ratio",
                                       "probe_latency", "mean_query_time", "slow_queries",
                                       "connect_probe", "log_source", "replication_lag",
                                       "standby_streaming", "replication_slots", "wraparound",
                                       "xmin_horizon", "archiver"})
        self.assertEqual(checks["connection_usage"]["level"], "ok")
        # Errors over statements once both have a delta over the same interval; never before.
        if checks["error_ratio"]["level"] == "unknown":
            self.assertIn("same interval", checks["error_ratio"]["detail"])
        else:
            self.assertEqual(checks["error_ratio"]["source"], "log")
        self.assertIsInstance(target["reasons"], list)
        self.assertEqual(len(target["reasons"]),
                         sum(1 for c in target["checks"] if c["level"] != "ok"))
        for key in ("error_ratio", "error_ratio_source", "rollback_ratio", "deadlocks",
                    "probe_failures", "recent"):
            self.assertIn(key, target["errors"])
        for key in ("threshold_ms", "active", "statements_over_threshold", "top"):
            self.assertIn(key, target["slow_queries"])

    def test_health_for_one_target_and_unknown_target(self):
        r = self.agent.health("primary")
        self.assertEqual(r.status, 200)
        self.assertEqual([t["name"] for t in r.json()["targets"]], ["primary"])
        self.assertEqual(self.agent.health("nope").status, 404)

    def test_liveness_readiness_and_index(self):
        self.assertEqual(self.agent.get("/health/live").status, 200)
        self.assertEqual(self.agent.get("/health/ready").status, 200)
        index = self.agent.get("/")
        self.assertEqual(index.status, 200)
        self.assertIn("text/html", index.headers["Content-Type"])
        self.assertIn('href="/metrics"', index.body)
        # Everything the page loads comes from the agent (test_status_page runs it in a browser).
        self.assertIn("default-src 'self'", index.headers["Content-Security-Policy"])
        for path in ("/static/app.js", "/static/app.css", "/static/uPlot.iife.min.js",
                     "/static/uPlot.min.css"):
            self.assertIn('"%s"' % path, index.body)
            asset = self.agent.get(path)
            self.assertEqual(asset.status, 200, path)
            self.assertGreater(len(asset.body), 100, path)
        self.assertEqual(self.agent.get("/static/nope.js").status, 404)

    def test_bad_requests_get_4xx(self):
        self.assertEqual(self.agent.get("/nope").status, 404)
        self.assertEqual(self.agent.get("/metrics/extra").status, 404)
        self.assertEqual(self.agent.request("/metrics", method="POST").status, 405)
        self.assertEqual(self.agent.request("/health", method="DELETE").status, 405)
        self.assertEqual(self.agent.get("/metrics?format=json").status, 400)
        self.assertEqual(self.agent.get("/health?target=").status, 400)
        # The agent keeps serving after all of that.
        self.assertEqual(self.agent.get("/metrics").status, 200)

    def test_listen_backlog_is_somaxconn_and_50_concurrent_scrapers_are_served(self):
        # The listening socket's backlog (its Send-Q in `ss -ltn`) is the kernel's somaxconn,
        # not cpp-httplib's 5, under which a burst of new connections waits for SYN
        # retransmissions (docs/architecture.md).
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = min(int(f.read()), 65535)
        listening = subprocess.run(["ss", "-ltnH", "sport = :%d" % self.agent.port],
                                   check=True, capture_output=True, text=True).stdout.splitlines()
        self.assertEqual(len(listening), 1, listening)
        self.assertEqual(int(listening[0].split()[2]), somaxconn, listening[0])

        # 50 scrapers start together, 3 scrapes each, each on a new connection: every one is a
        # 200 with the whole body (urllib raises if it is shorter than its Content-Length) that
        # parses to the agent's series.
        clients, scrapes = 50, 3
        start = threading.Barrier(clients)
        results, lock = [], threading.Lock()

        def scraper():
            start.wait()
            for _ in range(scrapes):
                try:
                    r = self.agent.get("/metrics", timeout=30)
                    samples = harness.parse_metrics(r.body)
                    outcome = (r.status, r.body.endswith("\n"),
                               harness.sample(samples, "pg_up", target="primary"),
                               harness.sample(samples, "pgvigil_build_info"))
                except Exception as error:  # reported below with the others
                    outcome = repr(error)
                with lock:
                    results.append(outcome)
        threads = [threading.Thread(target=scraper) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), clients * scrapes)
        bad = [r for r in results if r != (200, True, 1, 1)]
        self.assertEqual(bad, [], "%d of %d scrapes failed" % (len(bad), len(results)))

    def test_connection_budget_is_two_per_target(self):
        seen = []
        deadline = time.monotonic() + 6  # three connect probes at connect_probe_interval 2s
        while time.monotonic() < deadline:
            seen.append(int(harness.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvigil'")))
            time.sleep(0.02)
        self.assertGreaterEqual(max(seen), 1)
        self.assertLessEqual(max(seen), 2, seen)


class CapabilityTest(unittest.TestCase):
    def test_missing_pg_monitor_and_pg_stat_statements_are_reported(self):
        harness.require_environment(self)
        agent = harness.Agent(harness.config(
            [("plain", harness.dsn(user="plain", password="plain-pw", dbname="pgvigil_it"))]),
            extra_args=["--log.format=json"])
        try:
            target = harness.wait_for(
                lambda: (lambda t: t if t["notes"] else None)(agent.health().json()["targets"][0]),
                10, what="capability notes")
            self.assertEqual(target["status"], "ok")  # degraded visibility, not an outage
            self.assertTrue(any("pg_monitor" in n for n in target["notes"]), target["notes"])
            self.assertTrue(any("pg_stat_statements" in n for n in target["notes"]))
            samples = agent.metrics()
            self.assertEqual(harness.sample(samples, "pgvigil_capability",
                                            capability="pg_monitor"), 0)
            self.assertEqual(harness.sample(samples, "pgvigil_capability",
                                            capability="pg_stat_statements"), 0)
            # Logged once, not on every cycle; --log.format=json gives one object per line.
            time.sleep(2)
            lines = [json.loads(line) for line in agent.logs().splitlines() if line.strip()]
            warnings = [l for l in lines if "lacks pg_monitor" in l["msg"]]
            self.assertEqual(len(warnings), 1, lines)
            self.assertEqual(warnings[0]["level"], "warning")
            self.assertRegex(warnings[0]["time"], r"^\d{4}-\d\d-\d\dT")
        finally:
            agent.close()


class SecretsTest(unittest.TestCase):
    def test_passwords_never_leave_the_agent(self):
        harness.require_environment(self)
        password_file = os.path.join(os.path.dirname(harness.BINARY), "e2e-monitor-password")
        with open(password_file, "w") as f:
            f.write("monitor-pw\n")
        dsn_secret = "dsn-secret-never-shown"
        agent = harness.Agent(harness.config([
            ("from_file", "host=%s port=%s user=monitor dbname=postgres" %
             (harness.HOST, harness.PORT), "password_file: " + password_file),
            ("wrong", harness.dsn(password=dsn_secret)),
        ]), extra_args=["--log.level=debug"])
        try:
            harness.wait_for(lambda: agent.health().json()["targets"][0]["reachable"], 10,
                             what="the password_file target to connect")
            time.sleep(2.5)  # a failed connect probe and reconnect attempts on "wrong"
            bodies = [agent.get(p).body for p in ("/metrics", "/health", "/", "/health/ready",
                                                   "/history?target=wrong",
                                                   "/history?target=from_file")]
            bodies.append(agent.logs())
            check = subprocess.run([harness.BINARY, "--config.file=" + agent.config_path,
                                    "--check-config"], capture_output=True, text=True)
            bodies.append(check.stdout + check.stderr)
            for body in bodies:
                self.assertNotIn("monitor-pw", body)
                self.assertNotIn(dsn_secret, body)
            wrong = agent.health("wrong").json()["targets"][0]
            self.assertEqual(wrong["status"], "down")
            self.assertIn("password authentication failed", wrong["last_error"])
        finally:
            agent.close()
            os.unlink(password_file)


class WebConfigTest(unittest.TestCase):
    def test_tls_and_basic_auth(self):
        harness.require_environment(self)
        directory = os.path.dirname(harness.BINARY)
        cert, key = harness.self_signed_certificate("e2e-tls")
        # bcrypt hash of "scrape-pw", made with the system's libxcrypt through Python's crypt.
        hashed = subprocess.run(
            ["python3", "-W", "ignore", "-c",
             "import crypt; print(crypt.crypt('scrape-pw', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))"],
            check=True, capture_output=True, text=True).stdout.strip()
        web_config = os.path.join(directory, "e2e-web.yml")
        with open(web_config, "w") as f:
            f.write("tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
                    "basic_auth_users:\n  prometheus: '%s'\n" % (cert, key, hashed))
        port = harness.free_port()
        path = os.path.join(directory, "e2e-web-agent.yaml")
        with open(path, "w") as f:
            f.write(harness.config([("primary", harness.dsn())]))
        # --web.config.file, as the Prometheus exporters take it (test_hostile uses the key).
        agent = subprocess.Popen([harness.BINARY, "--config.file=" + path,
                                  "--web.config.file=" + web_config,
                                  "--web.listen-address=127.0.0.1:%d" % port],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            context = ssl.create_default_context(cafile=cert)
            context.check_hostname = False

            def get(password):
                headers = {}
                if password:
                    token = base64.b64encode(("prometheus:" + password).encode()).decode()
                    headers["Authorization"] = "Basic " + token
                req = urllib.request.Request("https://127.0.0.1:%d/metrics" % port,
                                             headers=headers)
                try:
                    with urllib.request.urlopen(req, context=context, timeout=5) as r:
                        return r.status
                except urllib.error.HTTPError as e:
                    return e.code

            harness.wait_for(lambda: self._listening(port), 10, what="TLS listener")
            self.assertEqual(get(None), 401)
            self.assertEqual(get("wrong"), 401)
            self.assertEqual(get("scrape-pw"), 200)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=10)

    @staticmethod
    def _listening(port):
        import socket
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    unittest.main()
