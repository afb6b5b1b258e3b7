"""A database that goes away, hangs or comes back never crashes or wedges the agent, and the
agent says what is wrong. Also: signals (SIGTERM, SIGHUP)."""

import signal
import time
import unittest

import harness

PROBE_INTERVAL = 1.0
CONNECT_TIMEOUT = 2.0
QUERY_TIMEOUT = 1.0


def up(agent):
    return harness.sample(agent.metrics(), "pg_up", target="primary")


class OutageTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        self.agent = harness.Agent(harness.config([("primary", harness.dsn())]))
        harness.wait_for(lambda: up(self.agent) == 1, 10, what="pg_up 1")

    def tearDown(self):
        self.agent.close()
        harness.thaw_server() if self._server_running() else harness.start_server()

    @staticmethod
    def _server_running():
        try:
            harness.postmaster_pid()
            return True
        except OSError:
            return False

    def test_stopped_server_is_down_then_recovers_without_restart(self):
        harness.stop_server()
        # Noticed within probe_interval + connect_timeout (plus scheduling slack).
        harness.wait_for(lambda: up(self.agent) == 0, PROBE_INTERVAL + CONNECT_TIMEOUT + 1,
                         what="pg_up 0 after the server stopped")
        health = self.agent.health()
        self.assertEqual(health.status, 503)
        target = health.json()["targets"][0]
        self.assertEqual(target["status"], "down")
        self.assertIs(target["reachable"], False)
        self.assertTrue(target["last_error"])
        # Ready means a successful probe within the last 2 probe intervals.
        harness.wait_for(lambda: self.agent.get("/health/ready").status == 503,
                         2 * PROBE_INTERVAL + 1, what="/health/ready 503")
        self.assertEqual(self.agent.get("/health/live").status, 200)
        samples = self.agent.metrics()
        self.assertGreaterEqual(harness.sample(samples, "pg_probe_failures_total",
                                               reason="connect") +
                                harness.sample(samples, "pg_probe_failures_total",
                                               reason="query"), 1)
        self.assertIsNone(harness.sample(samples, "pg_connections_used"),
                          "stale connection usage exported while down")

        harness.start_server()
        # Backoff grows to at most 30 s; the server was down only briefly, so a few seconds do.
        harness.wait_for(lambda: up(self.agent) == 1, 15, what="recovery")
        harness.wait_for(lambda: self.agent.health().status == 200, 5, what="/health 200")
        self.assertEqual(self.agent.process.poll(), None)

    def test_hung_server_never_wedges_metrics(self):
        harness.freeze_server()
        try:
            deadline = time.monotonic() + PROBE_INTERVAL + QUERY_TIMEOUT + 1 + 3
            saw_down = False
            while time.monotonic() < deadline:
                # A scrape is served from the last snapshot; a 2 s client timeout would raise.
                r = self.agent.get("/metrics", timeout=2)
                self.assertEqual(r.status, 200)
                self.assertEqual(self.agent.get("/health", timeout=2).status in (200, 503), True)
                if harness.sample(harness.parse_metrics(r.body), "pg_up") == 0:
                    saw_down = True
                    break
                time.sleep(0.2)
            self.assertTrue(saw_down, "pg_up stayed 1 while the server was frozen")
            # Whichever collector met the frozen server first timed out and dropped the
            # connection (collectors have phases of their own), so pg_up may read 0 before the
            # probe's next run; that run fails on the query (timeout) or on the reconnect
            # (connect), within a probe interval plus a connect timeout.
            def probe_failures():
                samples = self.agent.metrics()
                return sum(harness.sample(samples, "pg_probe_failures_total", reason=r) or 0
                           for r in ("timeout", "connect"))
            harness.wait_for(lambda: probe_failures() >= 1, PROBE_INTERVAL + CONNECT_TIMEOUT + 2,
                             what="a failed probe counted")
            self.assertEqual(self.agent.get("/health/live").status, 200)
            target = self.agent.health().json()["targets"][0]
            self.assertEqual(target["status"], "down")
            self.assertRegex(target["last_error"] or "", "did not answer|not established within")
        finally:
            harness.thaw_server()
        harness.wait_for(lambda: up(self.agent) == 1, 15, what="recovery after SIGCONT")

    def test_restart_is_survived(self):
        harness.stop_server()
        harness.start_server()
        harness.wait_for(lambda: up(self.agent) == 1 and self.agent.health().status == 200, 15,
                         what="recovery after restart")
        harness.wait_for(lambda: harness.sample(self.agent.metrics(), "pgvigil_collector_success",
                                                collector="activity") == 1, 10,
                         what="activity collector back")


class SignalTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)

    def test_sigterm_exits_0_quickly_and_closes_connections(self):
        agent = harness.Agent(harness.config([("primary", harness.dsn())]))
        try:
            harness.wait_for(lambda: up(agent) == 1, 10, what="pg_up 1")
            code, seconds = agent.stop(signal.SIGTERM)
            self.assertEqual(code, 0, agent.logs())
            self.assertLess(seconds, 5)
            harness.wait_for(lambda: harness.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvigil'") == "0",
                5, what="the agent's sessions to end")
        finally:
            agent.close()

    def test_sigterm_while_server_hangs(self):
        agent = harness.Agent(harness.config([("primary", harness.dsn())],
                                             defaults={"query_timeout": "3s",
                                                       "connect_timeout": "5s"}))
        try:
            harness.wait_for(lambda: up(agent) == 1, 10, what="pg_up 1")
            harness.freeze_server()
            time.sleep(1.5)  # the worker is now inside a query the server does not answer
            code, seconds = agent.stop(signal.SIGTERM)
            self.assertEqual(code, 0)
            self.assertLess(seconds, 5)
        finally:
            harness.thaw_server()
            agent.close()

    def test_sighup_reloads_and_keeps_running_config_when_invalid(self):
        agent = harness.Agent(harness.config([("primary", harness.dsn())]))
        try:
            harness.wait_for(lambda: up(agent) == 1, 10, what="pg_up 1")
            agent.rewrite_config("targets:\n  - name: broken\n    dns: typo\n")
            agent.send(signal.SIGHUP)
            harness.wait_for(lambda: "new configuration rejected" in agent.logs(), 5,
                             what="the rejection to be logged")
            self.assertIn("targets[0].dns: unknown key", agent.logs())
            self.assertEqual(up(agent), 1)

            agent.rewrite_config(harness.config([("primary", harness.dsn()),
                                                 ("second", harness.dsn())]))
            agent.send(signal.SIGHUP)
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pg_up", target="second") == 1,
                             10, what="the new target")
            self.assertEqual(up(agent), 1)
            self.assertIsNone(agent.process.poll())
        finally:
            agent.close()


class SaturationTest(unittest.TestCase):
    def test_connection_usage_past_90_percent_is_critical(self):
        harness.require_environment(self)
        agent = harness.Agent(harness.config([("primary", harness.dsn())]))
        sessions = harness.Sessions()
        try:
            harness.wait_for(lambda: up(agent) == 1, 10, what="pg_up 1")
            usable = harness.sample(agent.metrics(), "pg_connections_max")
            used = int(harness.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")) - 1
            # Enough sessions to pass 90% of the usable slots, leaving a slot for psql checks.
            wanted = int(usable * 0.9) + 1 - used
            sessions.open(wanted)
            def critical():
                target = agent.health().json()["targets"][0]
                checks = {c["name"]: c for c in target["checks"]}
                return target if checks["connection_usage"]["level"] == "critical" else None

            target = harness.wait_for(critical, 15, what="connection_usage critical")
            checks = {c["name"]: c for c in target["checks"]}
            self.assertEqual(target["status"], "degraded")
            self.assertGreater(checks["connection_usage"]["value"], 0.9)
            self.assertGreater(target["connections"]["usage_ratio"], 0.9)
            self.assertEqual(agent.health().status, 200)  # degraded is still 200
            samples = agent.metrics()
            self.assertGreater(harness.sample(samples, "pg_connections_used") /
                               harness.sample(samples, "pg_connections_max"), 0.9)
        finally:
            sessions.close()
            agent.close()


if __name__ == "__main__":
    unittest.main()
