"""The log_fdw log source (RDS and Aurora) against a real server, through a stand-in for
log_fdw made from file_fdw with log_fdw's documented functions (tests/standin/log_fdw.sql): errors
the test generates are counted exactly by SQLSTATE class, the error ratio matches, the agent
causes no server error, and without the grants it calls nothing that would fail."""

import csv
import os
import unittest

import harness
from test_statements_errors import collector_ok, run_script

ROLE, PASSWORD, SCHEMA = "fdwreader", "fdwreader-pw", "pgvigil_fdw"


def install_standin():
    with open(os.path.join(harness.SOURCE_DIR, "tests", "standin", "log_fdw.sql")) as f:
        harness.psql(f.read())
    # The grants docs/logs.md lists for RDS.
    remove_standin()
    harness.psql("""
        CREATE ROLE %(role)s LOGIN PASSWORD '%(password)s' IN ROLE pg_monitor;
        CREATE SCHEMA %(schema)s;
        GRANT USAGE, CREATE ON SCHEMA %(schema)s TO %(role)s;
        GRANT USAGE ON FOREIGN SERVER log_server TO %(role)s;
        GRANT EXECUTE ON FUNCTION list_postgres_log_files(),
          create_foreign_table_for_log_file(text, text, text) TO %(role)s;
    """ % {"schema": SCHEMA, "role": ROLE, "password": PASSWORD})


def remove_standin():
    harness.terminate_backends(ROLE)
    harness.psql("DROP SCHEMA IF EXISTS %s CASCADE" % SCHEMA)
    if harness.psql("SELECT count(*) FROM pg_roles WHERE rolname = '%s'" % ROLE) == "1":
        harness.psql("DROP OWNED BY %s; DROP ROLE %s" % (ROLE, ROLE))


def fdw_config(user, password, log_format="csvlog"):
    dsn = harness.dsn(user=user, password=password)
    return harness.config(
        [("primary", dsn, "collectors: {log: true}",
          "log_source: {sql: log_fdw, format: %s, log_fdw: {schema: %s}}" % (log_format, SCHEMA))],
        defaults={"statements_interval": "1s", "database_interval": "1s",
                  "query_timeout": "5s"})


def server_errors_of(user):
    """ERROR, FATAL and PANIC lines the server logged for `user`'s sessions (csvlog)."""
    path = os.path.join(harness.PGDATA, "log", "postgresql.csv")
    with open(path, newline="") as f:
        return [row[13] for row in csv.reader(f)
                if len(row) > 13 and row[1] == user and row[11] in ("ERROR", "FATAL", "PANIC")]


class LogFdwTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        install_standin()
        self.addCleanup(remove_standin)

    def test_errors_by_sqlstate_class_and_error_ratio_through_log_fdw(self):
        errors_before = len(server_errors_of(ROLE))
        agent = harness.Agent(fdw_config(ROLE, PASSWORD))
        try:
            harness.wait_for(lambda: collector_ok(agent, "statements") and
                             collector_ok(agent, "log"), 15, what="collectors")
            agent.wait_for_error_window(timeout=15)
            ok, division, missing = 80, 12, 8
            run_script("SELECT 1 + 1;\n" * (ok // 2) + "SELECT 1/0;\n" * division +
                       "SELECT 1 + 1;\n" * (ok - ok // 2) +
                       "SELECT * FROM no_such_table_%s;\n" % SCHEMA * missing)
            seen = []

            def settled():
                samples = agent.metrics()
                target = agent.health().json()["targets"][0]
                counted = (harness.sample(samples, "pg_log_messages_total", severity="ERROR",
                                          sqlstate_class="22"),
                           harness.sample(samples, "pg_log_messages_total", severity="ERROR",
                                          sqlstate_class="42"))
                seen[:] = [(counted, target["errors"]["error_ratio"])]
                ratio = round((division + missing) / (ok + division + missing), 4)
                if counted == (division, missing) and target["errors"]["error_ratio"] == ratio:
                    return target
                return None

            try:
                target = harness.wait_for(settled, 20, what="exact error counts")
            except AssertionError as e:
                raise AssertionError("%s; last (counts 22, 42; ratio): %s\n%s" %
                                     (e, seen, agent.logs())) from None
            self.assertEqual(target["errors"]["error_ratio_source"], "log")
            recent = target["errors"]["recent"]
            self.assertIn({"severity": "ERROR", "sqlstate": "22012", "message": "division by zero"},
                          [{k: r[k] for k in ("severity", "sqlstate", "message")} for r in recent])
            self.assertRegex(recent[0]["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            samples = agent.metrics()
            self.assertEqual(harness.sample(samples, "pgvigil_log_errors_total", source="agent"), 0)
            self.assertEqual(harness.sample(samples, "pgvigil_log_lines_total", source="sql",
                                            outcome="unparsed"), 0)
            # One foreign table, the agent's, over the newest csvlog file.
            tables = harness.psql(
                "SELECT c.relname || ' ' || pg_get_userbyid(c.relowner) || ' ' || "
                "array_to_string(t.ftoptions, ',') FROM pg_foreign_table t "
                "JOIN pg_class c ON c.oid = t.ftrelid WHERE c.relnamespace = '%s'::regnamespace"
                % SCHEMA)
            self.assertEqual(tables.splitlines(), [
                "pgvigil_log_csvlog %s filename=log/postgresql.csv,format=csv" % ROLE])
        finally:
            agent.close()
        self.assertEqual(server_errors_of(ROLE)[errors_before:], [])

    def test_without_the_grants_nothing_fails_on_the_server(self):
        harness.psql("REVOKE USAGE ON FOREIGN SERVER log_server FROM %s; "
                     "REVOKE CREATE ON SCHEMA %s FROM %s" % (ROLE, SCHEMA, ROLE))
        errors_before = len(server_errors_of(ROLE))
        agent = harness.Agent(fdw_config(ROLE, PASSWORD))
        try:
            harness.wait_for(lambda: "USAGE on FOREIGN SERVER log_server" in agent.logs(), 15,
                             what="the missing grants in the agent's log")
            self.assertIn("CREATE and USAGE on the schema %s" % SCHEMA, agent.logs())
            self.assertEqual(harness.sample(agent.metrics(), "pgvigil_collector_success",
                                            collector="log"), 0)
            self.assertEqual(harness.psql("SELECT count(*) FROM pg_class WHERE relnamespace = "
                                          "'%s'::regnamespace" % SCHEMA), "0")
        finally:
            agent.close()
        self.assertEqual(server_errors_of(ROLE)[errors_before:], [])


if __name__ == "__main__":
    unittest.main()
