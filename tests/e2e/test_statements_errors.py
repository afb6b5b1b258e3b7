"""Slow queries and error rates on a real server: pg_stat_statements at scale, resets,
the extension coming and going, and errors counted from jsonlog and csvlog."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

import harness

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "scripts"))
from workload import distinct_statements  # noqa: E402

GENERATOR = ("it_user", "it-pw", "pgvigil_it")


def run_script(sql, user=GENERATOR[0], password=GENERATOR[1], dbname=GENERATOR[2]):
    """Runs many statements in one psql session; failing ones do not stop it."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql)
        path = f.name
    try:
        env = dict(os.environ, PGPASSWORD=password)
        subprocess.run(["psql", "-X", "-q", "-h", harness.HOST, "-p", harness.PORT, "-U", user,
                        "-d", dbname, "-f", path], env=env, capture_output=True, timeout=300)
    finally:
        os.unlink(path)


def statements_sum(samples, name, **labels):
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def statement_series(samples):
    return [ls for (n, ls) in samples if n == "pg_stat_statements_calls_total"]


def collector_ok(agent, collector):
    return harness.sample(agent.metrics(), "pgvigil_collector_success", collector=collector) == 1


def config_with(defaults, log_format=None, through_server=False):
    settings = {"statements_interval": "1s", "database_interval": "1s", "statements_top_n": "20",
                "slow_query_threshold": "200ms"}
    settings.update(defaults)
    extra = []
    dsn = harness.dsn()
    if through_server:
        dsn = harness.dsn(user="logreader", password="logreader-pw")
        extra = ["collectors: {log: true}", "log_source: {format: %s}" % log_format]
    elif log_format:
        path = os.path.join(harness.PGDATA, "log",
                            "postgresql." + ("json" if log_format == "jsonlog" else "csv"))
        extra = ["collectors: {log: true}",
                 "log_source: {path: %s, format: %s}" % (path, log_format)]
    return harness.config([("primary", dsn) + tuple(extra)], defaults=settings)


class StatementsTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        harness.psql("SELECT pg_stat_statements_reset()")
        self.agent = harness.Agent(config_with({}))
        harness.wait_for(lambda: collector_ok(self.agent, "statements"), 10,
                         what="the statements collector")

    def tearDown(self):
        self.agent.close()
        harness.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def generator_totals(self):
        return float(harness.psql(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_roles r "
            "ON r.oid = s.userid WHERE r.rolname = 'it_user'"))

    def test_thousands_of_statements_bounded_series_exact_sums(self):
        run_script(distinct_statements(5200))
        tracked = int(harness.psql("SELECT count(*) FROM pg_stat_statements"))
        self.assertGreater(tracked, 5000)
        truth = self.generator_totals()
        self.assertGreaterEqual(truth, 5200)
        samples = harness.wait_for(
            lambda: (lambda s: s if statements_sum(s, "pg_stat_statements_calls_total",
                                                   user="it_user") == truth else None)(
                self.agent.metrics()), 10, what="exported sums to equal the server's")
        series = statement_series(samples)
        self.assertLessEqual(len(series), 2 * 20 + 10, "series must stay bounded")
        self.assertEqual(len([s for s in series if ("queryid", "other") in s and
                              ("user", "it_user") in s]), 1)
        self.assertLess(len(samples), 3000)
        self.assertGreater(harness.sample(samples, "pg_stat_statements_tracked"), 5000)
        self.assertEqual(harness.sample(samples, "pg_stat_statements_max"), 10000)

    def test_reset_mid_run_keeps_counters_monotonic(self):
        run_script("SELECT 1;\n" * 50)
        before = harness.wait_for(
            lambda: (lambda s: s if statements_sum(s, "pg_stat_statements_calls_total",
                                                   user="it_user") == 50 else None)(
                self.agent.metrics()), 10, what="50 calls")
        harness.psql("SELECT pg_stat_statements_reset()")
        run_script("SELECT 1;\n" * 7)
        after = harness.wait_for(
            lambda: (lambda s: s if statements_sum(s, "pg_stat_statements_calls_total",
                                                   user="it_user") == 57 else None)(
                self.agent.metrics()), 10, what="57 calls after the reset")
        for key, value in before.items():
            if key[0].startswith("pg_stat_statements_") and key[0].endswith("_total") \
                    and key in after:
                self.assertGreaterEqual(after[key], value, key)

    def test_slow_statements_listed_with_text(self):
        run_script("SELECT pg_sleep(0.3);\nSELECT pg_sleep(0.3);\nSELECT 1;\n")
        # Both calls counted: a statements poll may fall between the two.
        target = harness.wait_for(
            lambda: (lambda t: t if t["slow_queries"]["top"] and
                     t["slow_queries"]["top"][0]["calls"] == 2 else None)(
                self.agent.health().json()["targets"][0]), 10, what="a slow statement, twice")
        slow = target["slow_queries"]["top"][0]
        self.assertEqual(slow["query"], "SELECT pg_sleep($1)")
        self.assertEqual(slow["user"], "it_user")
        self.assertEqual(slow["datname"], "pgvigil_it")
        self.assertEqual(slow["calls"], 2)
        self.assertGreaterEqual(slow["mean_ms"], 300)
        self.assertEqual(target["slow_queries"]["statements_over_threshold"], 1)
        checks = {c["name"]: c for c in target["checks"]}
        self.assertEqual(checks["slow_queries"]["level"], "warn")
        self.assertEqual(checks["mean_query_time"]["level"], "ok")
        self.assertGreater(checks["mean_query_time"]["value_ms"], 100)

    def test_extension_dropped_and_recreated_while_running(self):
        log_size = os.path.getsize(os.path.join(harness.PGDATA, "log", "postgresql.json"))
        harness.psql("DROP EXTENSION pg_stat_statements")
        harness.wait_for(lambda: harness.sample(self.agent.metrics(), "pgvigil_capability",
                                                capability="pg_stat_statements") == 0, 10,
                         what="pg_stat_statements reported missing")
        target = self.agent.health().json()["targets"][0]
        checks = {c["name"]: c for c in target["checks"]}
        self.assertEqual(checks["mean_query_time"]["level"], "unknown")
        self.assertIn("CREATE EXTENSION pg_stat_statements", checks["mean_query_time"]["detail"])
        self.assertTrue(target["reachable"])
        # A missing extension is not a failing collector (no PgvigilCollectorFailing page), and
        # the agent does not query what is missing: no ERROR of its own in the server log.
        time.sleep(2.5)  # two more statements polls
        self.assertEqual(harness.sample(self.agent.metrics(), "pgvigil_collector_success",
                                        collector="statements"), 1)
        self.assertEqual(self.agent.logs().count("pg_stat_statements is not installed"), 1)
        with open(os.path.join(harness.PGDATA, "log", "postgresql.json")) as f:
            f.seek(log_size)
            own_errors = [line for line in f if '"application_name":"pgvigil"' in line
                          and '"error_severity":"ERROR"' in line]
        self.assertEqual(own_errors, [])
        harness.psql("CREATE EXTENSION pg_stat_statements")
        harness.wait_for(lambda: harness.sample(self.agent.metrics(), "pgvigil_capability",
                                                capability="pg_stat_statements") == 1, 10,
                         what="the statements collector to recover by itself")
        run_script("SELECT 1;\n" * 5)
        harness.wait_for(lambda: statements_sum(self.agent.metrics(),
                                                "pg_stat_statements_calls_total",
                                                user="it_user") >= 5, 10, what="new counts")


class ErrorRateTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)

    def _run(self, log_format, ok, failing, between=None, other_statements=0,
             through_server=False):
        """Runs `ok` good and `failing` failing statements; waits until the agent counted every
        error and reports exactly failing / (statements + failing)."""
        agent = harness.Agent(config_with({}, log_format, through_server))
        try:
            harness.wait_for(lambda: collector_ok(agent, "statements") and
                             collector_ok(agent, "log"), 10, what="collectors")
            agent.wait_for_error_window()
            half = failing // 2
            # "SELECT 1" alone would be a pool's validation query (housekeeping): work is 1 + 1.
            run_script("SELECT 1 + 1;\n" * (ok // 2) + "SELECT 1/0;\n" * half)
            if between:
                between()
            run_script("SELECT 1 + 1;\n" * (ok - ok // 2) + "SELECT 1/0;\n" * (failing - half))

            def settled():
                target = agent.health().json()["targets"][0]
                errors = target["errors"]
                samples = agent.metrics()
                counted = harness.sample(samples, "pg_log_messages_total", severity="ERROR",
                                         sqlstate_class="22")
                seen[:] = [(counted, errors["error_ratio"])]
                if counted == failing and errors["error_ratio"] is not None and \
                        errors["error_ratio"] == round(failing / (ok + other_statements + failing), 4):
                    return target
                return None

            seen = []
            try:
                return harness.wait_for(settled, 10, what="exact error counts"), agent.logs()
            except AssertionError as e:
                raise AssertionError("%s; last counted (errors, ratio): %s" % (e, seen)) from None
        finally:
            agent.close()

    def check(self, target, level, ratio):
        checks = {c["name"]: c for c in target["checks"]}
        self.assertEqual(checks["error_ratio"]["level"], level)
        self.assertEqual(checks["error_ratio"]["source"], "log")
        self.assertEqual(target["errors"]["error_ratio_source"], "log")
        self.assertEqual(target["errors"]["error_ratio"], round(ratio, 4))  # reported rounded
        recent = target["errors"]["recent"]
        self.assertEqual(recent[0]["severity"], "ERROR")
        self.assertEqual(recent[0]["sqlstate"], "22012")
        self.assertEqual(recent[0]["message"], "division by zero")
        self.assertRegex(recent[0]["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_ten_percent_failing_from_jsonlog_is_critical(self):
        target, _ = self._run("jsonlog", 90, 10)
        self.check(target, "critical", 0.1)

    def test_ten_percent_failing_from_csvlog_is_critical(self):
        target, _ = self._run("csvlog", 90, 10)
        self.check(target, "critical", 0.1)

    def test_errors_read_through_the_server_without_a_path(self):
        # A role with pg_monitor and EXECUTE on pg_current_logfile, pg_stat_file and
        # pg_read_binary_file, as docs/configuration.md says; no log file on the agent's host.
        target, _ = self._run("jsonlog", 90, 10, through_server=True)
        self.check(target, "critical", 0.1)

    def test_errors_read_through_the_server_from_csvlog(self):
        target, _ = self._run("csvlog", 90, 10, through_server=True)
        self.check(target, "critical", 0.1)

    def test_errors_read_through_the_server_from_stderr(self):
        # The stderr log with the server's default log_line_prefix ('%m [%p] ', found among the
        # presets an empty line_prefix tries) carries the SQLSTATE in the verbose form.
        harness.psql("ALTER SYSTEM SET log_error_verbosity = 'verbose'")
        harness.psql("SELECT pg_reload_conf()")
        try:
            target, _ = self._run("stderr", 90, 10, through_server=True)
            self.check(target, "critical", 0.1)
        finally:
            harness.psql("ALTER SYSTEM RESET log_error_verbosity")
            harness.psql("SELECT pg_reload_conf()")

    def test_two_percent_is_a_warning(self):
        target, _ = self._run("jsonlog", 98, 2)
        self.check(target, "warn", 0.02)

    def test_rotation_mid_run_loses_and_duplicates_nothing(self):
        log_dir = os.path.join(harness.PGDATA, "log")

        def rotate():
            for name in ("postgresql.json", "postgresql.csv", "postgresql.log"):
                path = os.path.join(log_dir, name)
                os.rename(path, path + ".1")
            harness.psql("SELECT pg_rotate_logfile()")
            harness.wait_for(lambda: os.path.exists(os.path.join(log_dir, "postgresql.json")), 5,
                             what="the new log file")

        # pg_rotate_logfile() is one more (successful) statement in the denominator.
        target, _ = self._run("jsonlog", 90, 10, between=rotate, other_statements=1)
        self.check(target, "critical", 10 / 101)

    def test_megabyte_log_line_is_counted(self):
        agent = harness.Agent(config_with({}, "jsonlog"))
        try:
            harness.wait_for(lambda: collector_ok(agent, "log"), 10, what="the log collector")
            run_script("SELECT repeat('x', 1048576)::int;\nSELECT 1/0;\n")
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pg_log_messages_total",
                                                    severity="ERROR", sqlstate_class="22") == 2,
                             10, what="both errors counted")
            self.assertEqual(harness.sample(agent.metrics(), "pgvigil_collector_success",
                                            collector="log"), 1)
            recent = agent.health().json()["targets"][0]["errors"]["recent"]
            self.assertEqual([r["sqlstate"] for r in recent], ["22012", "22P02"])
            self.assertLessEqual(len(recent[1]["message"]), 200)
        finally:
            agent.close()

    def test_rollback_ratio_without_a_log_source(self):
        agent = harness.Agent(config_with({}))
        try:
            harness.wait_for(lambda: collector_ok(agent, "database"), 10, what="database")
            time.sleep(1.2)
            run_script("BEGIN; SELECT 1; ROLLBACK;\n" * 3 + "BEGIN; SELECT 1; COMMIT;\n" * 7)
            # 3 rollbacks in at least 10 transactions (autovacuum and new backends commit too):
            # the ratio must settle in (0, 0.3]. A backend may flush its counters in two parts
            # (PostgreSQL 15+ flushes at most once a second, then at exit), so a poll between
            # the two sees part of the workload; the test waits for the window holding all of it.
            target = harness.wait_for(
                lambda: (lambda t: t if t["errors"]["rollback_ratio"] and
                         0 < t["errors"]["rollback_ratio"] <= 0.3 else None)(
                    agent.health().json()["targets"][0]), 10,
                what="a rollback ratio of 3 in at least 10 transactions")
            self.assertEqual(target["errors"]["error_ratio_source"], "rollbacks")
            checks = {c["name"]: c for c in target["checks"]}
            self.assertEqual(checks["error_ratio"]["source"], "rollbacks")
            self.assertEqual(target["errors"]["deadlocks"], 0)
        finally:
            agent.close()


if __name__ == "__main__":
    unittest.main()
