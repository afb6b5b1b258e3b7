"""The runbooks' SQL does what the runbooks say, on the real server: the connection-exhaustion
relief query (docs/runbooks.md, between the relief-query markers) ends only the idle sessions of
the application it is given, idle past the threshold, never pgvigil's own session or another
application's, and only those its role may signal (pg_monitor: none; a member of the
application's role: that role's sessions, not a superuser's)."""

import os
import re
import subprocess
import time
import unittest

import harness

APP_ROLE = "relief_app"
OPERATOR = "relief_operator"


def relief_query():
    with open(os.path.join(harness.SOURCE_DIR, "docs", "runbooks.md")) as f:
        text = f.read()
    block = re.search(r"<!-- relief-query -->\s*```sql\n(.*?)```\s*<!-- /relief-query -->", text,
                      re.S)
    if not block:
        raise AssertionError("no relief-query block in docs/runbooks.md")
    # Indented as a list item in the markdown.
    return "\n".join(line.strip() for line in block.group(1).splitlines())


def run_relief(user, password, app, idle_for):
    """The query as a user pastes it into psql after the runbook's two \\set lines."""
    script = "\\set app '%s'\n\\set idle_for '%s'\n%s" % (app, idle_for, relief_query())
    env = dict(os.environ, PGPASSWORD=password)
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", harness.HOST,
                           "-p", harness.PORT, "-U", user, "-d", "postgres"], input=script,
                          capture_output=True, text=True, env=env, timeout=30)


class ReliefQueryTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        self.sessions = []
        for role in (OPERATOR, APP_ROLE):
            harness.psql("DROP ROLE IF EXISTS %s" % role)
        harness.psql("CREATE ROLE %s LOGIN PASSWORD 'app-pw'" % APP_ROLE)
        harness.psql("CREATE ROLE %s LOGIN PASSWORD 'operator-pw' IN ROLE %s"
                     % (OPERATOR, APP_ROLE))

    def tearDown(self):
        for process in self.sessions:
            process.kill()
            process.wait()
            process.stdin.close()
        harness.terminate_backends(APP_ROLE)
        for role in (OPERATOR, APP_ROLE):
            harness.psql("DROP ROLE IF EXISTS %s" % role)

    def open(self, count, application, user=APP_ROLE, password="app-pw"):
        env = dict(os.environ, PGPASSWORD=password, PGAPPNAME=application)
        for _ in range(count):
            self.sessions.append(subprocess.Popen(
                ["psql", "-X", "-q", "-h", harness.HOST, "-p", harness.PORT, "-U", user,
                 "-d", "postgres"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=env))

    @staticmethod
    def pids(application, user):
        out = harness.psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s' "
                           "AND usename = '%s' AND backend_type = 'client backend'"
                           % (application, user))
        return set(int(p) for p in out.split())

    def wait_open(self, application, user, count):
        harness.wait_for(lambda: len(self.pids(application, user)) == count, 15,
                         what="%d sessions of %s as %s" % (count, application, user))

    def test_relief_ends_only_the_idle_sessions_of_the_named_application(self):
        # Long idle: three sessions of the application to relieve, two of another application
        # (a healthy pool), one named like pgvigil's, and one of the application's name run by
        # a superuser.
        self.open(3, "checkout")
        self.open(2, "reports")
        self.open(1, "pgvigil")
        self.open(1, "checkout", user="postgres", password="postgres-pw")
        self.wait_open("checkout", APP_ROLE, 3)
        self.wait_open("reports", APP_ROLE, 2)
        self.wait_open("pgvigil", APP_ROLE, 1)
        self.wait_open("checkout", "postgres", 1)
        to_end = self.pids("checkout", APP_ROLE)
        time.sleep(3)
        # Idle for less than the threshold: stays.
        self.open(1, "checkout")
        self.wait_open("checkout", APP_ROLE, 4)
        fresh = self.pids("checkout", APP_ROLE) - to_end
        others = {name: self.pids(name, APP_ROLE) for name in ("reports", "pgvigil")}
        superuser_session = self.pids("checkout", "postgres")

        # pgvigil's own role (pg_monitor) may terminate nothing: no rows, no error.
        as_monitor = run_relief("monitor", harness.MONITOR_PASSWORD, "checkout", "2 seconds")
        self.assertEqual(as_monitor.returncode, 0, as_monitor.stderr)
        self.assertEqual(as_monitor.stdout.strip(), "")
        self.assertEqual(self.pids("checkout", APP_ROLE), to_end | fresh)

        # A member of the application's role: exactly the three long-idle sessions of its role.
        relief = run_relief(OPERATOR, "operator-pw", "checkout", "2 seconds")
        self.assertEqual(relief.returncode, 0, relief.stderr)
        terminated = {int(line.split("|")[0]) for line in relief.stdout.split()
                      if line.endswith("|t")}
        self.assertEqual(terminated, to_end)
        harness.wait_for(lambda: self.pids("checkout", APP_ROLE) == fresh, 10,
                         what="the relieved sessions to end")
        for name, pids in others.items():
            self.assertEqual(self.pids(name, APP_ROLE), pids, name)
        self.assertEqual(self.pids("checkout", "postgres"), superuser_session)

    def test_relief_never_ends_pgvigils_session_even_when_asked_for_it(self):
        self.open(1, "pgvigil")
        self.wait_open("pgvigil", APP_ROLE, 1)
        before = self.pids("pgvigil", APP_ROLE)
        time.sleep(3)
        relief = run_relief("postgres", "postgres-pw", "pgvigil", "1 second")
        self.assertEqual(relief.returncode, 0, relief.stderr)
        self.assertEqual(relief.stdout.strip(), "")
        self.assertEqual(self.pids("pgvigil", APP_ROLE), before)


if __name__ == "__main__":
    unittest.main()
