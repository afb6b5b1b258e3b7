"""The replication collector against a real primary and a streaming standby of the major under
test (tests/e2e/pgcluster.py), one agent watching both. The scenarios share the two servers and
run in order, each building on the last: replay paused while the primary writes, an idle
primary, the primary stopped and started again, a logical slot nobody consumes, the standby
stopped, and (13+) its slot past max_slot_wal_keep_size. Every number is compared with what the
test computes itself on the server (LSN arithmetic with pg_wal_lsn_diff); the figures are printed
as `PostgreSQL <major> replication: <what> agent=<x> truth=<y>`."""

import os
import time
import unittest

import harness
import pgcluster
from harness import sample, wait_for

MAJOR = int(os.environ.get("PGVIGIL_TEST_MAJOR", "15"))


def figure(what, agent, truth):
    print("\nPostgreSQL %d replication: %s agent=%s truth=%s" % (MAJOR, what, agent, truth),
          flush=True)


def checks(target):
    return {check["name"]: check for check in target["checks"]}


class ReplicationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_environment(cls)
        # Autovacuum off: nothing but the test writes WAL, so a quiet primary's position stands
        # still and the agent's figures can be compared exactly.
        conf = ["wal_level = logical", "max_wal_senders = 10", "max_replication_slots = 10",
                "autovacuum = off", "min_wal_size = 32MB", "max_wal_size = 64MB"]
        conf.append("wal_keep_size = 0" if MAJOR >= 13 else "wal_keep_segments = 0")
        cls.primary = pgcluster.Server.primary(conf=conf)
        # A role without pg_monitor, on both servers (the standby is a copy).
        cls.primary.sql("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'")
        # The standby retries its primary every second, and its WAL receiver asks an idle
        # primary for a message after 10 s of silence (half its wal_receiver_timeout; 30 s by
        # default), so the idle scenario passes that silence several times.
        cls.standby = cls.primary.standby(slot="standby1", conf=[
            "wal_retrieve_retry_interval = 1s", "wal_receiver_timeout = 20s",
            "hot_standby_feedback = off"])
        cls.primary.sql("CREATE TABLE filler (id int, pad text)")
        cls.standby.wait_streaming(cls.primary)
        cls.agent = harness.Agent(harness.config(
            [("primary", cls.primary.dsn()), ("standby", cls.standby.dsn()),
             ("primary_plain", cls.primary.dsn("plain", "plain-pw")),
             ("standby_plain", cls.standby.dsn("plain", "plain-pw"))],
            {"replication_interval": "1s", "database_interval": "5s",
             "statements_interval": "5s"},
            "health:\n  replication_slot_inactive: {warn: 2s, critical: 1h}\n"))

    @classmethod
    def tearDownClass(cls):
        for name in ("agent", "standby", "primary"):
            if hasattr(cls, name):
                getattr(cls, name).close()

    # Helpers

    def metric(self, name, target, **labels):
        return sample(self.agent.metrics(), name, target=target, **labels)

    def health(self, target):
        return self.agent.health(target).json()["targets"][0]

    def write(self, rows=2000):
        self.primary.sql("INSERT INTO filler SELECT g, repeat('x', 100) "
                         "FROM generate_series(1, %d) g" % rows)

    def exact(self, what, agent_value, truth_value, timeout=30):
        """Waits until the agent's figure equals the truth read just before and just after it
        (the position stood still around the agent's read): tolerance 0 bytes."""
        last = {}

        def matches():
            before = truth_value()
            agent = agent_value()
            after = truth_value()
            last.update(agent=agent, truth=after)
            return agent is not None and before == after and agent == after
        try:
            wait_for(matches, timeout, interval=0.5, what=what)
        finally:
            figure(what, last.get("agent"), last.get("truth"))

    def primary_lag_truth(self, stage):
        return float(self.primary.sql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s_lsn) FROM pg_stat_replication "
            "WHERE application_name = 'standby1'" % stage) or "nan")

    def slot_truth(self, slot):
        return float(self.primary.sql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots "
            "WHERE slot_name = '%s'" % slot) or "nan")

    # Scenarios, in order

    def test_a_replay_paused_lag_bytes_equal_the_lsn_arithmetic(self):
        self.standby.sql("SELECT pg_wal_replay_pause()")
        try:
            self.write(5000)
            # Everything is received but not replayed.
            current = self.primary.sql("SELECT pg_current_wal_lsn()")
            wait_for(lambda: self.standby.sql(
                "SELECT pg_last_wal_receive_lsn() >= '%s'" % current) == "t", 30,
                what="the standby to receive the writes")
            self.exact("standby lag bytes, replay stage, on the primary",
                       lambda: self.metric("pg_replication_standby_lag_bytes", "primary",
                                           standby="standby1", stage="replay"),
                       lambda: self.primary_lag_truth("replay"))
            self.exact("standby lag bytes, flush stage, on the primary",
                       lambda: self.metric("pg_replication_standby_lag_bytes", "primary",
                                           standby="standby1", stage="flush"),
                       lambda: self.primary_lag_truth("flush"))
            self.exact("replay lag bytes on the standby",
                       lambda: self.metric("pg_replication_replay_lag_bytes", "standby"),
                       lambda: float(self.standby.sql(
                           "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
                           "pg_last_wal_replay_lsn())")))
            replay = self.metric("pg_replication_replay_lag_bytes", "standby")
            self.assertGreater(replay, 100000, "5000 rows of 100 bytes were not replayed")
            # Behind: never 0 seconds on the standby.
            lag = wait_for(lambda: self.metric("pg_replication_replay_lag_seconds", "standby"),
                           10, what="replay lag seconds on the paused standby")
            self.assertGreater(lag, 0)
            self.without_pg_monitor()
            self.exact("WAL position counter on the primary",
                       lambda: self.metric("pg_wal_lsn_bytes_total", "primary"),
                       lambda: float(self.primary.sql(
                           "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")))
        finally:
            self.standby.sql("SELECT pg_wal_replay_resume()")
        self.standby.wait_streaming(self.primary)

    def test_a_slot_on_the_standby_retains_exactly(self):
        """A standby's own physical slot (what a cascading standby streams through): listed on
        the standby target, its retained WAL counted from the replayed position (a standby
        writes no WAL of its own)."""
        self.standby.sql("SELECT pg_create_physical_replication_slot('cascade1', true)")
        try:
            self.write(2000)
            self.exact("slot on the standby, retained bytes",
                       lambda: self.metric("pg_replication_slot_retained_bytes", "standby",
                                           slot_name="cascade1"),
                       lambda: float(self.standby.sql(
                           "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), restart_lsn) "
                           "FROM pg_replication_slots WHERE slot_name = 'cascade1'")))
            self.assertGreater(self.metric("pg_replication_slot_retained_bytes", "standby",
                                           slot_name="cascade1"), 100000,
                               "2000 rows were written after the slot reserved its WAL")
            self.assertEqual(self.metric("pg_replication_slot_active", "standby",
                                         slot_name="cascade1"), 0)
        finally:
            self.standby.sql("SELECT pg_drop_replication_slot('cascade1')")

    def without_pg_monitor(self):
        """A role without pg_monitor: the standby is counted but its positions and the WAL
        receiver's status are hidden; those series are left out, a note says so, and the
        collector never fails."""
        samples = self.agent.metrics()
        for target in ("primary_plain", "standby_plain"):
            self.assertEqual(sample(samples, "pgvigil_collector_success", target=target,
                                    collector="replication"), 1, target)
        self.assertIsNone(sample(samples, "pg_replication_standby_lag_bytes",
                                 target="primary_plain", stage="replay"))
        self.assertEqual(sample(samples, "pg_replication_standbys", target="primary_plain",
                                state="unknown"), 1)
        self.assertIsNone(sample(samples, "pg_replication_receiver_streaming",
                                 target="standby_plain"))
        self.assertIsNotNone(sample(samples, "pg_replication_replay_lag_bytes",
                                    target="standby_plain"))
        primary_notes = " ".join(self.health("primary_plain")["notes"])
        standby_notes = " ".join(self.health("standby_plain")["notes"])
        self.assertIn("standbys' WAL positions and lag times are hidden", primary_notes)
        self.assertIn("pg_stat_wal_receiver", standby_notes)
        self.assertEqual(checks(self.health("standby_plain"))["standby_streaming"]["level"],
                         "unknown")

    # 35 s of waiting: the plain build runs it on the oldest, Debian's and the newest major (the
    # WAL receiver's silences and pings have not changed across 12-18; every other scenario,
    # which reads the same views, runs on every major).
    @unittest.skipIf(os.environ.get("PGVIGIL_SANITIZED") or MAJOR not in (12, 15, 18),
                     "the idle-primary wait runs on 12, 15 and 18 in the plain build")
    def test_b_idle_primary_keeps_replay_lag_at_zero(self):
        """Nothing is written for 35 s: the time since the last replayed transaction grows (what
        peers report as lag) while the agent says 0 on both sides, through several of the
        standby's silences that end with its ping."""
        wait_for(lambda: self.metric("pg_replication_replay_lag_seconds", "standby") == 0, 15,
                 what="replay lag 0 on the caught-up standby")
        start = time.monotonic()
        worst_standby = worst_primary = 0.0
        oldest_message = 0.0
        while time.monotonic() - start < 35:
            samples = self.agent.metrics()
            standby = sample(samples, "pg_replication_replay_lag_seconds", target="standby")
            primary = sample(samples, "pg_replication_standby_lag_seconds", target="primary",
                             standby="standby1", stage="replay")
            message = sample(samples, "pg_replication_receiver_last_message_age_seconds",
                             target="standby")
            self.assertIsNotNone(standby)
            self.assertIsNotNone(primary)
            worst_standby = max(worst_standby, standby)
            worst_primary = max(worst_primary, primary)
            oldest_message = max(oldest_message, message or 0)
            time.sleep(1)
        peer = float(self.standby.sql(
            "SELECT date_part('epoch', now() - pg_last_xact_replay_timestamp())"))
        figure("idle primary 35 s, replay lag seconds on the standby (largest seen)",
               worst_standby, 0)
        figure("idle primary 35 s, standby replay lag seconds on the primary (largest seen)",
               worst_primary, 0)
        print("PostgreSQL %d replication: idle primary, now() - pg_last_xact_replay_timestamp() "
              "(what a peer reports) = %.1f s; largest message age seen %.1f s"
              % (MAJOR, peer, oldest_message), flush=True)
        self.assertEqual(worst_standby, 0)
        # On the primary, a record the server writes by itself while idle (its running-
        # transactions snapshot) is in flight for a moment: the standby is behind by its bytes and
        # PostgreSQL's lag time of the moment shows, well under a second. Tolerance 1 s; what
        # matters is that it does not grow with the idle time as the peer's figure does.
        self.assertLess(worst_primary, 1)
        self.assertGreater(peer, 30)
        self.assertGreater(oldest_message, 5, "the standby never went silent for long")

    def test_c_primary_stopped_standby_not_streaming_with_growing_lag(self):
        self.primary.stop()
        try:
            wait_for(lambda: self.metric("pg_replication_receiver_streaming", "standby") == 0, 15,
                     what="the standby to report not streaming")
            first = self.metric("pg_replication_replay_lag_seconds", "standby")
            time.sleep(3)
            second = self.metric("pg_replication_replay_lag_seconds", "standby")
            truth = float(self.standby.sql(
                "SELECT date_part('epoch', now() - pg_last_xact_replay_timestamp())"))
            figure("primary stopped, replay lag seconds on the standby", second, truth)
            self.assertGreater(first, 0)
            self.assertGreater(second, first + 1.5, "the lag does not grow")
            self.assertAlmostEqual(second, truth, delta=2.5)  # one interval and a scrape apart
            target = self.health("standby")
            streaming = checks(target)["standby_streaming"]
            self.assertEqual(streaming["level"], "critical", streaming)
            reason = [r for r in target["reasons"] if r.startswith("standby_streaming")]
            print("PostgreSQL %d replication: %s" % (MAJOR, reason[0]), flush=True)
            self.assertIn("primary_conninfo", reason[0])
            self.assertGreater(target["replication"]["receiver"]["replay_lag_seconds"], 0)
        finally:
            self.primary.start()
        self.standby.wait_streaming(self.primary)
        wait_for(lambda: self.metric("pg_replication_receiver_streaming", "standby") == 1, 15,
                 what="the standby to stream again")

    def test_d_logical_slot_nobody_consumes(self):
        self.primary.sql("SELECT pg_create_logical_replication_slot('analytics', 'pgoutput')")
        self.write(2000)
        wait_for(lambda: self.metric("pg_replication_slot_active", "primary",
                                     slot_name="analytics") == 0, 10,
                 what="the logical slot's series")
        self.assertEqual(self.metric("pg_replication_slot_active", "primary",
                                     slot_name="analytics", slot_type="logical",
                                     database="postgres"), 0)
        self.exact("logical slot retained bytes",
                   lambda: self.metric("pg_replication_slot_retained_bytes", "primary",
                                       slot_name="analytics"),
                   lambda: self.slot_truth("analytics"))
        self.assertGreater(self.slot_truth("analytics"), 100000)

    def test_e_standby_stopped_slot_inactive_retains_exactly(self):
        self.standby.stop()
        stopped = time.monotonic()
        self.write(1000)
        wait_for(lambda: self.metric("pg_replication_slot_active", "primary",
                                     slot_name="standby1") == 0, 10,
                 what="the physical slot inactive")
        self.exact("physical slot retained bytes, standby stopped",
                   lambda: self.metric("pg_replication_slot_retained_bytes", "primary",
                                       slot_name="standby1"),
                   lambda: self.slot_truth("standby1"))
        inactive = wait_for(lambda: self.metric("pg_replication_slot_inactive_seconds", "primary",
                                                slot_name="standby1"), 10,
                            what="inactive seconds > 0")
        if MAJOR >= 17:
            # The server's inactive_since; the agent's figure is at most an interval (1 s) and a
            # scrape older.
            truth = float(self.primary.sql(
                "SELECT date_part('epoch', now() - inactive_since) FROM pg_replication_slots "
                "WHERE slot_name = 'standby1'"))
        else:
            # Observed by the agent since it saw the slot inactive: at most the time since the
            # test stopped the standby, at least an interval (1 s) and a scrape less.
            truth = time.monotonic() - stopped
        figure("physical slot inactive seconds", inactive, round(truth, 3))
        self.assertGreater(inactive, 0)
        self.assertLessEqual(inactive, truth + 0.1)
        self.assertGreater(inactive, truth - 2.5)
        # Past the test's warn threshold (2 s): a reason that names the slot.
        def reason():
            target = self.health("primary")
            found = [r for r in target["reasons"] if "slot `standby1` inactive for" in r]
            return found and checks(target)["replication_slots"]["level"] == "warn" and found[0]
        text = wait_for(reason, 10, what="a replication_slots reason naming standby1")
        print("PostgreSQL %d replication: %s" % (MAJOR, text), flush=True)
        self.assertIn("retains", text)
        self.assertIn("max_slot_wal_keep_size is unset" if MAJOR >= 13 else "inactive", text)

    @unittest.skipIf(MAJOR < 13, "wal_status and max_slot_wal_keep_size came with PostgreSQL 13")
    def test_f_slot_past_max_slot_wal_keep_size_is_critical(self):
        self.primary.sql("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
        self.primary.sql("SELECT pg_reload_conf()")
        for _ in range(2):
            self.write(3000)
            self.primary.sql("SELECT pg_switch_wal()")
        self.primary.sql("CHECKPOINT")
        truth = self.primary.sql("SELECT wal_status FROM pg_replication_slots "
                                 "WHERE slot_name = 'standby1'")
        self.assertIn(truth, ("unreserved", "lost"))

        def status():
            for status in ("unreserved", "lost"):
                if self.metric("pg_replication_slot_wal_status", "primary", slot_name="standby1",
                               wal_status=status) == 1:
                    return status
            return None
        # Read after the checkpoint, the truth is final until the next one; the agent's last
        # collection may predate it.
        last = {}

        def same():
            last["agent"] = status()
            return last["agent"] == truth
        try:
            wait_for(same, 10, what="wal_status %s" % truth)
        finally:
            figure("physical slot wal_status past max_slot_wal_keep_size", last.get("agent"),
                   truth)
        target = self.health("primary")
        self.assertEqual(checks(target)["replication_slots"]["level"], "critical")
        reason = [r for r in target["reasons"] if r.startswith("replication_slots")][0]
        print("PostgreSQL %d replication: %s" % (MAJOR, reason), flush=True)
        self.assertIn("slot `standby1`", reason)
        self.assertIn("wal_status", reason)


if __name__ == "__main__":
    unittest.main()
