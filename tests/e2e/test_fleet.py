"""Many targets on one agent (issue: a thousand targets): connects are capped in flight, so a
fleet starting together queues in the agent instead of bursting at the server."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

import harness


class SlowStartProxy:
    """A TCP proxy in front of the test server that holds each new connection for `delay`
    seconds before forwarding it, and records how many were held at once: the connection
    attempts in flight, as the server's side would see them."""

    def __init__(self, delay):
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pending = 0
        self.most_pending = 0
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        with self.lock:
            self.accepted += 1
            self.pending += 1
            self.most_pending = max(self.most_pending, self.pending)
        time.sleep(self.delay)
        with self.lock:
            self.pending -= 1
        try:
            upstream = socket.create_connection((harness.HOST, int(harness.PORT)))
        except OSError:
            client.close()
            return
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.listener.close()


class ConnectCapTest(unittest.TestCase):
    TARGETS = 25  # the test server allows 40 connections

    def test_connects_in_flight_are_capped_and_every_target_comes_up(self):
        harness.require_environment(self)
        proxy = SlowStartProxy(delay=0.5)
        dsn = "postgresql://monitor:%s@127.0.0.1:%d/postgres" % (harness.MONITOR_PASSWORD,
                                                                 proxy.port)
        targets = [("fleet-%02d" % i, dsn) for i in range(self.TARGETS)]
        agent = harness.Agent(harness.config(targets, defaults={"connect_probe_interval": "0s"}))
        try:
            def all_up():
                samples = agent.metrics()
                return sum(1 for (name, _), value in samples.items()
                           if name == "pg_up" and value == 1) == self.TARGETS
            # 25 connects of 0.5 s each, 16 at a time: two rounds, about a second.
            harness.wait_for(all_up, 20, what="every target up")
            samples = agent.metrics()
            waits = harness.sample(samples, "pgvigil_connect_queue_waits_total")
            limit = harness.sample(samples, "pgvigil_connect_slots")
        finally:
            agent.close()
            proxy.close()
        self.assertGreaterEqual(proxy.accepted, self.TARGETS)
        # Never more than the cap at the server's door; and the cap was reached (the fleet did
        # connect in parallel, not one by one).
        self.assertLessEqual(proxy.most_pending, 16)
        self.assertGreaterEqual(proxy.most_pending, 12)
        self.assertEqual(limit, 16)
        self.assertGreaterEqual(waits, self.TARGETS - 16)


def pg_up_targets(samples):
    return {dict(labels)["target"] for (name, labels), value in samples.items()
            if name == "pg_up" and value == 1}


class LateProbeTest(unittest.TestCase):
    """late_probes and pgvigil_collector_lag_seconds count the agent's own delay, and only it:
    the test makes each happen, an agent stopped (its threads not scheduled) and a server
    frozen (the database's delay, which must not count)."""

    def late(self, agent):
        return agent.health().json()["targets"][0]["latency_ms"]["late_probes"]

    def test_a_stopped_agent_is_late_and_a_frozen_server_is_not(self):
        harness.require_environment(self)
        agent = harness.Agent(harness.config([("primary", harness.dsn())],
                                             defaults={"connect_probe_interval": "0s"}))
        try:
            harness.wait_for(lambda: (harness.sample(agent.metrics(), "pg_probes_total") or 0)
                             >= 3, 10, what="probes")
            self.assertEqual(self.late(agent), 0)
            # The server hangs for 4 s: probes time out, the connection is dropped and
            # reopened, but the agent's threads are never late on their own account.
            harness.freeze_server()
            try:
                time.sleep(4)
            finally:
                harness.thaw_server()
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pg_up") == 1, 15,
                             what="recovery")
            time.sleep(2)
            self.assertEqual(self.late(agent), 0, "a hung server was counted as the agent's delay")
            # The agent itself stopped for 2 s (as a starved process is): its next probe is late.
            agent.process.send_signal(signal.SIGSTOP)
            time.sleep(2)
            agent.process.send_signal(signal.SIGCONT)
            harness.wait_for(lambda: self.late(agent) >= 1, 5, what="a late probe counted")
            target = agent.health().json()["targets"][0]
            self.assertTrue(any("started more than 250 ms late" in n for n in target["notes"]),
                            target["notes"])
        finally:
            agent.process.send_signal(signal.SIGCONT)
            agent.close()


class TargetsFilesTest(unittest.TestCase):
    """targets_files: targets added and removed by writing files, without a restart and
    without the other targets losing their counters."""

    def test_files_add_and_remove_targets_live(self):
        harness.require_environment(self)
        agent = harness.Agent(harness.config([], extra="targets_files: [\"targets.d/*.yml\"]\n"))
        directory = os.path.join(agent.dir, "targets.d")
        os.makedirs(directory)

        def write(name, targets):
            path = os.path.join(directory, name)
            with open(path + ".tmp", "w") as f:
                for target in targets:
                    f.write("- name: %s\n  dsn: \"%s\"\n" % (target, harness.dsn()))
            os.rename(path + ".tmp", path)  # as a ConfigMap update swaps it in

        try:
            write("a.yml", ["alpha"])
            harness.wait_for(lambda: pg_up_targets(agent.metrics()) == {"alpha"}, 15,
                             what="alpha from a.yml")
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pg_probes_total",
                                                    target="alpha") >= 3, 10, what="probes")
            before = harness.sample(agent.metrics(), "pg_probes_total", target="alpha")
            write("b.yml", ["beta", "gamma"])
            harness.wait_for(lambda: pg_up_targets(agent.metrics()) == {"alpha", "beta", "gamma"},
                             15, what="beta and gamma from b.yml")
            # alpha's worker kept running: its counter went on, it did not start over.
            self.assertGreaterEqual(
                harness.sample(agent.metrics(), "pg_probes_total", target="alpha"), before)
            # A broken file is refused and the running targets stay.
            with open(os.path.join(directory, "c.yml"), "w") as f:
                f.write("- name: delta\n  dsn: \"host=x\"\n  bogus_key: 1\n")
            harness.wait_for(lambda: "c.yml:3:" in agent.logs(), 15, what="the rejection logged")
            self.assertIn("keeping the running one", agent.logs())
            self.assertEqual(pg_up_targets(agent.metrics()), {"alpha", "beta", "gamma"})
            os.remove(os.path.join(directory, "c.yml"))
            os.remove(os.path.join(directory, "b.yml"))
            harness.wait_for(lambda: pg_up_targets(agent.metrics()) == {"alpha"}, 15,
                             what="beta and gamma gone with b.yml")
            after = harness.sample(agent.metrics(), "pg_probes_total", target="alpha")
            self.assertGreater(after, before)
        finally:
            agent.close()


class SharedClusterTest(unittest.TestCase):
    """Targets on one cluster (one per database, the same role) read the cluster-wide views
    once per interval between them, and each still counts every statement of the agent's as
    the agent's, whichever target ran it: the application's work is the test's own workload."""

    DATABASES = ["pgvigil_shared_%d" % i for i in range(3)]
    # The agent's read of pg_stat_statements and of pg_stat_activity, as the server stores them.
    READS = {"statements": "%SELECT userid, dbid, queryid, calls, %",
             "activity": "%WITH limits AS%"}

    def setUp(self):
        harness.require_environment(self)
        for database in self.DATABASES:
            harness.psql("DROP DATABASE IF EXISTS %s" % database)
            harness.psql("CREATE DATABASE %s" % database)
            harness.psql("CREATE EXTENSION pg_stat_statements", dbname=database)

    def tearDown(self):
        harness.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname LIKE 'pgvigil_shared_%'")
        for database in self.DATABASES:
            harness.psql("DROP DATABASE IF EXISTS %s" % database)

    def reads(self):
        return {name: int(harness.psql(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%s'"
            % pattern)) for name, pattern in self.READS.items()}

    def test_cluster_wide_views_are_read_once_for_all_targets(self):
        targets = [("db-postgres", harness.dsn())] + \
            [("db-%d" % i, harness.dsn(dbname=d)) for i, d in enumerate(self.DATABASES)]
        names = {t[0] for t in targets}
        agent = harness.Agent(harness.config(targets, defaults={
            "statements_interval": "1s", "connect_probe_interval": "0s"}))
        try:
            def all_collecting():
                samples = agent.metrics()
                return all(harness.sample(samples, "pgvigil_collector_success", target=t,
                                          collector=c) == 1
                           for t in names for c in ("statements", "activity"))
            harness.wait_for(all_collecting, 15, what="every target's statements and activity")

            # Work is the application's only: the test's 40 statements (the test ran nothing else
            # since the baseline), nothing of what the four targets ran.
            def work(target):
                return harness.sample(agent.metrics(), "pgvigil_statements_total",
                                      target=target, kind="work")
            work_before = {t: work(t) for t in names}
            agent_before = harness.sample(agent.metrics(), "pgvigil_statements_total",
                                          target="db-0", kind="agent")
            harness.psql("SELECT 1 + 1;\n" * 40, user="it_user", password="it-pw",
                         dbname="pgvigil_it")
            harness.wait_for(lambda: all(work(t) - work_before[t] >= 40 for t in names), 10,
                             what="the workload counted by every target")
            time.sleep(3)  # three more polls of all four targets' own statements
            for target in names:
                self.assertEqual(work(target) - work_before[target], 40, target)
            self.assertGreater(harness.sample(agent.metrics(), "pgvigil_statements_total",
                                              target="db-0", kind="agent"), agent_before)

            # Reads: once per one-second interval for the four targets (not four times).
            before, started = self.reads(), time.monotonic()
            time.sleep(6)
            after, elapsed = self.reads(), time.monotonic() - started
            for name in self.READS:
                made = after[name] - before[name]
                print("%s reads in %.1f s with %d targets: %d" % (name, elapsed, len(names), made),
                      file=sys.stderr)
                self.assertGreaterEqual(made, elapsed - 2, name)
                self.assertLessEqual(made, elapsed + 2, name)

            # Every target still reports the cluster-wide series and /health view.
            samples = agent.metrics()
            tracked = {harness.sample(samples, "pg_stat_statements_tracked", target=t)
                       for t in names}
            self.assertEqual(len(tracked), 1, tracked)
            for target in agent.health().json()["targets"]:
                self.assertIsNotNone(target["connections"]["used"], target["name"])
                self.assertIsNotNone(target["slow_queries"]["statements_over_threshold"],
                                     target["name"])
        finally:
            agent.close()


class ShardTest(unittest.TestCase):
    def test_two_shards_watch_every_target_once(self):
        harness.require_environment(self)
        names = ["shard-%d" % i for i in range(8)]
        path = os.path.join(os.path.dirname(harness.BINARY), "e2e-shard.yaml")
        with open(path, "w") as f:
            f.write(harness.config([(n, harness.dsn()) for n in names],
                                   defaults={"connect_probe_interval": "0s"}))
        seen = []
        for shard in ("0/2", "1/2"):
            r = subprocess.run([harness.BINARY, "--config.file=" + path,
                                "--targets.shard=" + shard, "--once"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            seen.append(pg_up_targets(harness.parse_metrics(r.stdout)))
        self.assertEqual(seen[0] | seen[1], set(names))
        self.assertEqual(seen[0] & seen[1], set())
        self.assertTrue(seen[0] and seen[1], seen)  # both shards got some
        bad = subprocess.run([harness.BINARY, "--config.file=" + path, "--targets.shard=2/2",
                              "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--targets.shard", bad.stderr)


if __name__ == "__main__":
    unittest.main()
