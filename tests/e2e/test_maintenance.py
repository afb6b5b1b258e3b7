"""The maintenance collector against a real server of the major under test (PGVIGIL_TEST_PGBIN):
xmin horizon holders named with their exact age, xid and multixact ages per database, a failing
archiver with its .ready backlog, checkpoints under one name on 12-18, and what a role without
pg_monitor and a pg_monitor role that is no superuser each see. Every number is compared with the
truth the test computes itself; ages are exact (tolerance 0), judged only while no transaction ID
is consumed between the truth read before the agent's value and the one after."""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Agent, wait_for
from pgcluster import Server

MAJOR = int(os.environ.get("PGVIGIL_TEST_MAJOR", "15"))


def figure(what, agent, truth):
    print("\nPostgreSQL %d maintenance: %s agent=%s truth=%s" % (MAJOR, what, agent, truth),
          flush=True)


class Psql:
    """A psql session held open (a client the test controls), whose statements' output is read
    back through \\o files."""

    def __init__(self, server, application="maint_e2e"):
        self.dir = tempfile.mkdtemp(prefix="pgvigil-psql.")
        env = dict(os.environ, PGAPPNAME=application)
        self.process = subprocess.Popen(
            ["psql", "-X", "-At", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U",
             "postgres", "-d", "postgres"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, env=env)
        self.count = 0

    def run(self, sql, timeout=15):
        """Runs `sql` and returns its output lines once it has completed."""
        self.count += 1
        path = os.path.join(self.dir, "%d.out" % self.count)
        self.process.stdin.write("\\o %s\n%s\nSELECT 'psql-done';\n\\o\n" % (path, sql))
        self.process.stdin.flush()

        def done():
            if not os.path.exists(path):
                return None
            with open(path) as f:
                lines = f.read().splitlines()
            return lines if "psql-done" in lines else None

        lines = wait_for(done, timeout, what="psql to run %r" % sql)
        return [line for line in lines if line != "psql-done"]

    def close(self):
        self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class MaintenanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [name for name, value in [("PGVIGIL_BINARY", harness.BINARY),
                                            ("PGVIGIL_TEST_PGBIN", harness.PGBIN)] if not value]
        if missing:
            raise AssertionError("not set: %s; run scripts/test.sh" % ", ".join(missing))
        cls.server = Server.primary(conf=[
            "max_prepared_transactions = 5", "archive_mode = on",
            "archive_command = '/bin/false'", "wal_level = replica",
            # Nothing but the test consumes transaction IDs, so ages can be compared exactly.
            "autovacuum = off", "log_line_prefix = '%m [%p] %a: '"])
        s = cls.server
        s.sql("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'")
        s.sql("CREATE DATABASE private")
        s.sql("REVOKE CONNECT ON DATABASE private FROM PUBLIC")
        s.sql("CREATE TABLE shared_row (id int PRIMARY KEY); INSERT INTO shared_row VALUES (1)")
        s.sql("GRANT SELECT, UPDATE ON shared_row TO PUBLIC")
        cls.agent = Agent(harness.config(
            [("monitor", s.dsn()), ("plain", s.dsn(user="plain", password="plain-pw"))],
            defaults={"maintenance_interval": "1s"},
            # Low enough that the scenarios' holders are judged and their reasons written.
            extra="health:\n  xmin_horizon: {warn: 3, critical: 1000000}\n"))

    @classmethod
    def tearDownClass(cls):
        agent = getattr(cls, "agent", None)
        if agent:
            agent.close()
        server = getattr(cls, "server", None)
        if server:
            server.close()

    def target(self, name="monitor"):
        return self.agent.health(name).json()["targets"][0]

    def maintenance(self, name="monitor"):
        return self.target(name)["maintenance"]

    def sample(self, name, target="monitor", **labels):
        return harness.sample(self.agent.metrics(), name, target=target, **labels)

    def exact(self, what, truth_sql, agent_value, timeout=15):
        """Waits until the agent reports the truth while it holds still: truth read, agent's value,
        truth read again; equal all three. Returns the value."""
        last = {}

        def agrees():
            before = self.server.sql(truth_sql)
            agent = agent_value()
            after = self.server.sql(truth_sql)
            last.update(agent=agent, truth=after)
            if before == after and agent is not None and str(agent) == after:
                return after
            return None

        try:
            value = wait_for(agrees, timeout, interval=0.5, what=what)
        finally:
            figure(what, last.get("agent"), last.get("truth"))
        return int(value)

    def test_1_prepared_transaction_named_with_exact_age(self):
        s = self.server
        s.sql("BEGIN; SELECT txid_current(); PREPARE TRANSACTION 'tx1'")
        for _ in range(5):
            s.sql("SELECT txid_current()")  # older by 5 transactions
        try:
            age = self.exact(
                "xmin horizon prepared_transaction age (gid tx1)",
                "SELECT age(transaction) FROM pg_prepared_xacts WHERE gid = 'tx1'",
                lambda: (self.maintenance()["xmin_horizon"] or {}).get("age")
                if (self.maintenance()["xmin_horizon"] or {}).get("gid") == "tx1" else None)
            self.assertGreaterEqual(age, 6)
            horizon = self.maintenance()["xmin_horizon"]
            self.assertEqual(horizon["holder"], "prepared_transaction")
            self.assertEqual(horizon["user"], "postgres")
            self.assertIsNone(horizon["pid"])
            self.assertEqual(self.sample("pg_xmin_horizon_age", holder="prepared_transaction"),
                             age)
            # The series is also in the plain role's view: pg_prepared_xacts is public.
            wait_for(lambda: self.sample("pg_xmin_horizon_age", target="plain",
                                         holder="prepared_transaction") == age, 10,
                     what="the plain role's prepared_transaction holder")
            target = self.target()
            check = {c["name"]: c for c in target["checks"]}["xmin_horizon"]
            self.assertEqual((check["level"], check["value"], check["holder"]),
                             ("warn", age, "prepared_transaction"))
            reason = [r for r in target["reasons"] if r.startswith("xmin_horizon")]
            print("\n" + reason[0])
            self.assertRegex(reason[0], r"^xmin_horizon warn: prepared transaction `tx1` \(owner "
                             r"postgres\) holds the xmin horizon %d transactions back since "
                             r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; COMMIT PREPARED or "
                             r"ROLLBACK PREPARED it \(> 3\)$" % age)
        finally:
            s.sql("ROLLBACK PREPARED 'tx1'")

    def test_2_idle_in_transaction_session_named_with_exact_age(self):
        s = self.server
        holder = Psql(s, application="billing_job")
        try:
            pid, xid = holder.run("BEGIN;\nSELECT pg_backend_pid(), txid_current();")[0].split("|")
            for _ in range(7):
                s.sql("SELECT txid_current()")
            # The truth from the xid the session itself was given, not from pg_stat_activity.
            truth = "SELECT age('%d'::xid)" % (int(xid) % 2**32)

            def agent_age():
                horizon = self.maintenance()["xmin_horizon"] or {}
                return horizon.get("age") if horizon.get("pid") == int(pid) else None

            age = self.exact("xmin horizon transaction age (idle in transaction)", truth,
                             agent_age)
            self.assertGreaterEqual(age, 8)
            horizon = self.maintenance()["xmin_horizon"]
            self.assertEqual((horizon["holder"], horizon["application"], horizon["user"]),
                             ("transaction", "billing_job", "postgres"))
            self.assertEqual(horizon["state"], "idle in transaction")
            self.assertRegex(horizon["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(self.sample("pg_xmin_horizon_age", holder="transaction"), age)
            reason = [r for r in self.target()["reasons"] if r.startswith("xmin_horizon")]
            print("\n" + reason[0])
            self.assertIn("session pid %s (application `billing_job`, user postgres, idle in "
                          "transaction) holds the xmin horizon %d transactions back" % (pid, age),
                          reason[0])
            self.assertIn("SELECT pg_terminate_backend(%s)" % pid, reason[0])
            # Other roles' xmins are hidden from a role without pg_monitor: no series at all
            # rather than a 0 that says nobody holds the horizon.
            self.assertIsNone(self.sample("pg_xmin_horizon_age", target="plain",
                                          holder="transaction"))
        finally:
            holder.close()
        wait_for(lambda: self.sample("pg_xmin_horizon_age", holder="transaction") == 0, 15,
                 what="the transaction holder to be gone")

    def test_3_xid_and_mxid_ages_per_database(self):
        s = self.server
        first, second = Psql(s), Psql(s)
        try:
            for _ in range(3):  # a multixact each: two sessions share-lock one row
                first.run("BEGIN; SELECT id FROM shared_row WHERE id = 1 FOR SHARE;")
                second.run("BEGIN; SELECT id FROM shared_row WHERE id = 1 FOR SHARE;")
                first.run("COMMIT;")
                second.run("COMMIT;")
        finally:
            first.close()
            second.close()
        # One database frozen apart from the others: ages differ per database.
        s.sql("VACUUM (FREEZE)", dbname="private")
        databases = s.sql("SELECT datname FROM pg_database ORDER BY 1").split("\n")
        self.assertIn("private", databases)
        for datname in databases:
            for metric, function, column in [("pg_database_xid_age", "age", "datfrozenxid"),
                                             ("pg_database_mxid_age", "mxid_age", "datminmxid")]:
                value = self.exact(
                    "%s{datname=%s}" % (metric, datname),
                    "SELECT %s(%s) FROM pg_database WHERE datname = '%s'" % (function, column,
                                                                             datname),
                    lambda: self._int(self.sample(metric, datname=datname)))
                if datname == "postgres" and metric == "pg_database_mxid_age":
                    self.assertGreaterEqual(value, 3)
                if datname == "private" and metric == "pg_database_xid_age":
                    frozen = value
        self.assertLess(frozen, int(s.sql("SELECT age(datfrozenxid) FROM pg_database "
                                          "WHERE datname = 'postgres'")))
        oldest = s.sql("SELECT max(age(datfrozenxid)) FROM pg_database")
        self.assertEqual(str(self.maintenance()["xid_age"]["age"]), oldest)

    @staticmethod
    def _int(value):
        return None if value is None else int(value)

    def ready_files(self):
        status = os.path.join(self.server.data, "pg_wal", "archive_status")
        listing = harness.as_postgres(["ls", "-1", status]).stdout.split()
        return sum(1 for name in listing if name.endswith(".ready"))

    def test_4_failing_archiver_and_ready_backlog(self):
        s = self.server
        s.sql("CREATE TABLE IF NOT EXISTS churn (x int)")
        for _ in range(4):
            s.sql("INSERT INTO churn VALUES (1); SELECT pg_switch_wal()")
        wait_for(lambda: s.sql("SELECT failed_count FROM pg_stat_archiver") not in ("", "0"), 30,
                 what="the archiver to fail once")
        wait_for(lambda: self.sample("pg_stat_archiver_failing") == 1, 15,
                 what="pg_stat_archiver_failing 1")
        failed_truth = int(s.sql("SELECT failed_count FROM pg_stat_archiver"))
        figure("pg_stat_archiver_failing", self.sample("pg_stat_archiver_failing"), 1)
        failed_agent = self.sample("pg_stat_archiver_failed_total")
        figure("pg_stat_archiver_failed_total (agent read before truth)", failed_agent,
               failed_truth)
        self.assertGreater(failed_agent, 0)
        self.assertLessEqual(failed_agent, failed_truth)  # a counter read earlier, never ahead

        last = {}

        def ready_agrees():
            truth = self.ready_files()
            agent = self.sample("pg_stat_archiver_ready_files")
            last.update(agent=agent, truth=truth)
            return agent == truth and truth == self.ready_files()

        try:
            wait_for(ready_agrees, 15, interval=0.5, what="ready files as listed")
        finally:
            figure("pg_stat_archiver_ready_files", last.get("agent"), last.get("truth"))
        self.assertGreaterEqual(last["truth"], 4)
        archiver = self.maintenance()["archiver"]
        self.assertEqual((archiver["mode"], archiver["failing"], archiver["ready_files"]),
                         ("on", True, last["truth"]))
        self.assertRegex(archiver["last_failed_wal"], r"^[0-9A-F]{24}$")
        target = self.target()
        check = {c["name"]: c for c in target["checks"]}["archiver"]
        self.assertEqual(check["level"], "critical")
        self.assertTrue(any(r.startswith("archiver critical: archive_command is failing")
                            for r in target["reasons"]), target["reasons"])
        # The plain role sees the counters but not the backlog; its target polls on its own
        # schedule, so it may read the archiver a pass later than the monitor's target.
        wait_for(lambda: self.sample("pg_stat_archiver_failing", target="plain") == 1, 15,
                 what="pg_stat_archiver_failing 1 for the plain role")
        self.assertIsNone(self.sample("pg_stat_archiver_ready_files", target="plain"))

    def test_5_checkpoints_counted_under_one_name(self):
        s = self.server
        view, column = (("pg_stat_checkpointer", "num_requested") if MAJOR >= 17
                        else ("pg_stat_bgwriter", "checkpoints_req"))
        truth_sql = "SELECT %s FROM %s" % (column, view)

        def agent_requested():
            return self._int(self.sample("pg_checkpoints_total", trigger="requested"))

        before = self.exact("pg_checkpoints_total{trigger=requested} before", truth_sql,
                            agent_requested)
        checkpoints = 3
        for _ in range(checkpoints):
            s.sql("CHECKPOINT")
        # Before 15 the counters reach the view through the statistics collector, a little later.
        wait_for(lambda: int(s.sql(truth_sql)) >= before + checkpoints, 30,
                 what="the view to count the checkpoints")
        after = self.exact("pg_checkpoints_total{trigger=requested} after %d CHECKPOINT" %
                           checkpoints, truth_sql, agent_requested)
        figure("pg_checkpoints_total{trigger=requested} growth from %s" % view, after - before,
               checkpoints)
        self.assertEqual(after - before, checkpoints)
        self.assertIsNotNone(self.sample("pg_checkpoints_total", trigger="timed"))
        self.assertGreaterEqual(self.sample("pg_checkpoint_buffers_written_total"), 0)
        self.assertGreaterEqual(self.sample("pg_checkpoint_write_seconds_total"), 0)
        self.assertIsNotNone(self.sample("pg_checkpoint_sync_seconds_total"))

    def test_6_what_each_role_sees(self):
        wait_for(lambda: self.sample("pg_wal_directory_bytes") is not None, 15,
                 what="pg_wal's size")
        metrics = self.agent.metrics()
        for target in ("monitor", "plain"):
            self.assertEqual(harness.sample(metrics, "pgvigil_collector_success", target=target,
                                            collector="maintenance"), 1, target)
        wal_bytes = harness.sample(metrics, "pg_wal_directory_bytes", target="monitor")
        wal_truth = int(self.server.sql("SELECT sum(size) FROM pg_ls_waldir()"))
        figure("pg_wal_directory_bytes", int(wal_bytes), wal_truth)
        # Segments are recycled only at checkpoints; none runs between the two reads.
        self.assertEqual(wal_bytes, wal_truth)
        size_truth = int(self.server.sql("SELECT pg_database_size('private')"))
        size_agent = harness.sample(metrics, "pg_database_size_bytes", target="monitor",
                                    datname="private")
        figure("pg_database_size_bytes{datname=private}", self._int(size_agent), size_truth)
        self.assertEqual(size_agent, size_truth)
        # pg_monitor, no superuser: everything, and no note about it.
        for name in ["pg_stat_archiver_ready_files", "pg_wal_directory_files"]:
            self.assertIsNotNone(harness.sample(metrics, name, target="monitor"), name)
        for holder in ["transaction", "replication_slot", "prepared_transaction",
                       "standby_feedback"]:
            self.assertEqual(harness.sample(metrics, "pg_xmin_horizon_age", target="monitor",
                                            holder=holder), 0, holder)
        # Nothing holds the horizon back: no holder named (other sessions' polls have age 0).
        self.assertIsNone(self.maintenance()["xmin_horizon"])
        monitor_notes = " ".join(self.target("monitor")["notes"])
        self.assertNotIn("pg_ls_waldir", monitor_notes)
        self.assertNotIn("pg_read_all_stats", monitor_notes)
        # A plain LOGIN role: what is public, and the rest named in notes, once each.
        for name, labels in [("pg_database_xid_age", {"datname": "private"}),
                             ("pg_database_mxid_age", {"datname": "private"}),
                             ("pg_database_size_bytes", {"datname": "postgres"}),
                             ("pg_xmin_horizon_age", {"holder": "replication_slot"}),
                             ("pg_stat_archiver_archived_total", {}),
                             ("pg_checkpoints_total", {"trigger": "requested"})]:
            self.assertIsNotNone(harness.sample(metrics, name, target="plain", **labels), name)
        for name, labels in [("pg_database_size_bytes", {"datname": "private"}),
                             ("pg_xmin_horizon_age", {"holder": "standby_feedback"}),
                             ("pg_wal_directory_bytes", {}), ("pg_wal_directory_files", {})]:
            self.assertIsNone(harness.sample(metrics, name, target="plain", **labels), name)
        plain = self.target("plain")
        notes = plain["notes"]
        for needle in ["pg_read_all_stats", "pg_ls_archive_statusdir()", "pg_ls_waldir()",
                       "1 databases have no pg_database_size_bytes"]:
            self.assertEqual(sum(1 for note in notes if needle in note), 1, (needle, notes))
        self.assertIsNone(plain["maintenance"]["wal_bytes"])
        self.assertIsNone(plain["maintenance"]["archiver"]["ready_files"])

    def test_7_no_error_from_the_agent_in_the_server_log(self):
        # Several polls of both roles have run by now (every second).
        time.sleep(2)
        with open(self.server.log) as f:
            lines = f.read().splitlines()
        errors = [line for line in lines if re.search(r" pgvigil: (ERROR|FATAL):", line)]
        figure("agent ERROR lines in the server log", len(errors), 0)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
