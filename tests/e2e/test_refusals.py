"""Connections the server refuses: the connect probe counts them by SQLSTATE
(pg_probe_connect_refused_total), read from what the real server sent, as the server itself
logged them: 53300 when the agent's role is at its CONNECTION LIMIT (the monitoring session holds
the one slot), 57P03 while the server shuts down."""

import json
import os
import unittest

import harness

ROLE = "limited_monitor"
PASSWORD = "limited-pw"


def counts_when(agent, condition, timeout, what):
    """Waits for probe counters that satisfy condition and returns them."""
    return harness.wait_for(lambda: (lambda c: c if c and condition(c) else None)(
        probe_counts(agent)), timeout, what=what)


def server_refusals(sqlstate, user):
    """FATAL lines of the server's own log (jsonlog) with this SQLSTATE for this role."""
    count = 0
    with open(os.path.join(harness.PGDATA, "log", "postgresql.json")) as f:
        for line in f:
            entry = json.loads(line)
            if (entry.get("error_severity") == "FATAL" and entry.get("state_code") == sqlstate
                    and entry.get("user") == user):
                count += 1
    return count


def probe_counts(agent):
    """The probe counters of the last collection; None before the first one."""
    samples = agent.metrics()
    if harness.sample(samples, "pg_probe_connect_refused_total", target="primary",
                      sqlstate="57P03") is None:
        return None

    def value(name, **labels):
        found = harness.sample(samples, name, target="primary", **labels)
        if found is None:
            raise AssertionError("no %s %r in the agent's metrics" % (name, labels))
        return found
    select_ok = value("pg_probe_duration_seconds_count")
    connect_ok = value("pg_probe_connect_duration_seconds_count")
    return {
        # Every probe is a SELECT 1 on the monitoring session (all succeed here: no query or
        # timeout failures) or a connect probe.
        "connect_probes": value("pg_probes_total") - select_ok,
        "connect_ok": connect_ok,
        "failed_connect": value("pg_probe_failures_total", reason="connect"),
        "failed_query": value("pg_probe_failures_total", reason="query") +
                        value("pg_probe_failures_total", reason="timeout"),
        "53300": value("pg_probe_connect_refused_total", sqlstate="53300"),
        "57P03": value("pg_probe_connect_refused_total", sqlstate="57P03"),
    }


class RefusalTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        harness.psql("DROP ROLE IF EXISTS %s" % ROLE)
        harness.psql("CREATE ROLE %s LOGIN PASSWORD '%s' CONNECTION LIMIT 1 IN ROLE pg_monitor"
                     % (ROLE, PASSWORD))
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.close()
        harness.wait_for(lambda: harness.psql("SELECT count(*) FROM pg_stat_activity "
                                              "WHERE usename = '%s'" % ROLE) == "0",
                         15, what="the agent's sessions to end")
        harness.psql("DROP ROLE %s" % ROLE)

    def test_role_at_its_connection_limit_is_refused_with_53300(self):
        before = server_refusals("53300", ROLE)
        self.agent = harness.Agent(harness.config(
            [("primary", harness.dsn(user=ROLE, password=PASSWORD))],
            defaults={"connect_probe_interval": "1s"}))
        # Both series exist from the first scrape on, at 0 until a refusal.
        first = counts_when(self.agent, lambda c: True, 10, "the first probes")
        self.assertEqual(first["57P03"], 0)
        counts_when(self.agent, lambda c: c["53300"] >= 3, 20, "three refused connect probes")
        checks = {c["name"]: c for c in self.agent.health().json()["targets"][0]["checks"]}
        self.refused_detail = checks["connect_probe"].get("detail", "")
        # Lift the limit: the next connect probe succeeds, and no refusal can still be in flight.
        harness.psql("ALTER ROLE %s CONNECTION LIMIT 2" % ROLE)
        counts = counts_when(self.agent, lambda c: c["connect_ok"] >= 1, 20,
                             "a connect probe that succeeds once the limit allows it")
        logged = harness.wait_for(
            lambda: (lambda n: n if n - before >= counts["53300"] else None)(
                server_refusals("53300", ROLE)), 10, what="the server's log of the refusals")
        print("\nconnect probes %d, refused 53300 %d, server logged %d, succeeded %d"
              % (counts["connect_probes"], counts["53300"], logged - before,
                 counts["connect_ok"]))
        self.assertEqual(counts["failed_query"], 0)
        self.assertEqual(counts["53300"], logged - before)
        self.assertEqual(counts["53300"], counts["connect_probes"] - counts["connect_ok"])
        self.assertEqual(counts["failed_connect"], counts["53300"])
        self.assertEqual(counts["57P03"], 0)
        # While refused, /health's connect_probe check said so, with the SQLSTATE.
        self.assertIn("FATAL:  53300: ", self.refused_detail)
        self.assertNotIn("LOCATION", self.refused_detail)

    def test_server_shutting_down_is_refused_with_57P03(self):
        harness.psql("ALTER ROLE %s CONNECTION LIMIT -1" % ROLE)
        self.agent = harness.Agent(harness.config(
            [("primary", harness.dsn(user=ROLE, password=PASSWORD))],
            defaults={"connect_probe_interval": "1s"}))
        counts_when(self.agent, lambda c: c["connect_ok"] >= 1, 10,
                    "a first connect probe that succeeds")
        before = server_refusals("57P03", ROLE)
        # A smart shutdown refuses new sessions and waits for the open ones: the agent's
        # monitoring session keeps the server in that state until the agent goes.
        harness.as_postgres([os.path.join(harness.PGBIN, "pg_ctl"), "-D", harness.PGDATA,
                             "-m", "smart", "-W", "stop"])
        try:
            counts = counts_when(self.agent, lambda c: c["57P03"] >= 2, 20,
                                 "two connect probes refused while shutting down")
            self.agent.close()
            self.agent = None
        finally:
            if self.agent:
                self.agent.close()
                self.agent = None
            harness.wait_for(lambda: not os.path.exists(os.path.join(harness.PGDATA,
                                                                     "postmaster.pid")),
                             30, what="the server to finish shutting down")
            harness.start_server()
        logged = server_refusals("57P03", ROLE) - before
        print("\nrefused 57P03: agent counted at least %d, server logged %d"
              % (counts["57P03"], logged))
        self.assertEqual(counts["53300"], 0)
        self.assertGreaterEqual(counts["57P03"], 2)
        # Probes after the last scrape may add refusals the scrape did not see, never fewer.
        self.assertGreaterEqual(logged, counts["57P03"])


if __name__ == "__main__":
    unittest.main()
