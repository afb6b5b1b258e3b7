"""PgBouncer targets (docs/configuration.md, PgBouncer targets): Debian's PgBouncer in transaction mode in front of the test
server, its admin console watched by the built agent; the pool saturated by real clients."""

import sys
import time
import unittest

import harness

POOL_SIZE = 5


def config(bouncer, account=None):
    return harness.config([("bouncer", bouncer.dsn(account), "kind: pgbouncer")],
                          defaults={"activity_interval": "1s"})


class PgBouncerTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        self.bouncer = harness.PgBouncer(pool_size=POOL_SIZE)
        self.clients = []

    def tearDown(self):
        for client in self.clients:
            client.kill()
            client.wait()
        self.bouncer.close()
        harness.terminate_backends("it_user")

    def pool_sample(self, agent, name, **labels):
        return harness.sample(agent.metrics(), name, target="bouncer", database="pgvigil_it",
                              user="it_user", **labels)

    def test_a_saturated_pool_is_critical_with_waiting_clients(self):
        agent = harness.Agent(config(self.bouncer))
        try:
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pgbouncer_up") == 1, 10,
                             what="pgbouncer_up")
            # Every server connection of the pool held by a transaction, and three more clients
            # queued behind them.
            for _ in range(POOL_SIZE):
                self.clients.append(self.bouncer.client("BEGIN; SELECT pg_sleep(30); COMMIT"))
            harness.wait_for(lambda: self.pool_sample(agent, "pgbouncer_pool_server_connections",
                                                      state="active") == POOL_SIZE, 15,
                             what="the pool's server connections all active")
            for _ in range(3):
                self.clients.append(self.bouncer.client("SELECT 1"))
            harness.wait_for(lambda: self.pool_sample(agent, "pgbouncer_pool_client_connections",
                                                      state="waiting") == 3, 15,
                             what="three clients waiting")
            time.sleep(2.5)  # the oldest waits more than a second, and a collection follows
            samples = agent.metrics()
            pools = {(p["database"], p["user"]): p for p in self.bouncer.show("SHOW POOLS")}
            truth = pools[("pgvigil_it", "it_user")]
            target = agent.health().json()["targets"][0]
            reported = {c["name"]: c for c in target["checks"]}
            print("SHOW POOLS: sv_active %s cl_waiting %s maxwait %s s; agent: server active %s, "
                  "waiting %s, max wait %.2f s, pool_usage %s (%s), clients_waiting %s" % (
                      truth["sv_active"], truth["cl_waiting"], truth["maxwait"],
                      harness.sample(samples, "pgbouncer_pool_server_connections",
                                     database="pgvigil_it", state="active"),
                      harness.sample(samples, "pgbouncer_pool_client_connections",
                                     database="pgvigil_it", state="waiting"),
                      harness.sample(samples, "pgbouncer_pool_max_wait_seconds",
                                     database="pgvigil_it"),
                      reported["pool_usage"]["value"], reported["pool_usage"]["level"],
                      reported["clients_waiting"]["level"]), file=sys.stderr)
            self.assertEqual(int(truth["sv_active"]), POOL_SIZE)
            self.assertEqual(int(truth["cl_waiting"]), 3)
            self.assertEqual(harness.sample(samples, "pgbouncer_pool_size",
                                            database="pgvigil_it"), POOL_SIZE)
            self.assertEqual(reported["pool_usage"]["level"], "critical")
            self.assertEqual(reported["pool_usage"]["value"], 1.0)
            self.assertEqual(reported["clients_waiting"]["level"], "warn")
            self.assertGreater(harness.sample(samples, "pgbouncer_pool_max_wait_seconds",
                                              database="pgvigil_it", user="it_user"), 1.0)
            self.assertEqual(target["status"], "degraded")
            self.assertTrue(any(r.startswith("pool_usage critical: pool pgvigil_it/it_user has 5 "
                                             "of 5") for r in target["reasons"]),
                            target["reasons"])
            pool = [p for p in target["pools"] if p["database"] == "pgvigil_it"][0]
            self.assertEqual((pool["server_active"], pool["client_waiting"]), (POOL_SIZE, 3))
            # Clients: the agent's own console session, the 8 clients; max_client_conn 50.
            clients = harness.sample(samples, "pgbouncer_client_connections")
            self.assertGreaterEqual(clients, 9)
            self.assertEqual(harness.sample(samples, "pgbouncer_config_max_client_connections"),
                             50)
            self.assertEqual(reported["client_connections"]["level"], "ok")
            self.assertGreater(harness.sample(samples, "pgbouncer_stats_queries_total",
                                              database="pgvigil_it"), 0)
            # No PostgreSQL series or checks on a PgBouncer target.
            self.assertIsNone(harness.sample(samples, "pg_up", target="bouncer"))
            self.assertNotIn("connection_usage", reported)
        finally:
            agent.close()

    def test_the_reserve_is_part_of_what_a_pool_may_open(self):
        """pool_size 5 and a reserve of 2: five busy server connections are 5 of 7, not a full pool
        (SHOW DATABASES calls the reserve reserve_pool_size from PgBouncer 1.24, reserve_pool
        before; missing it would page on a pool with room left)."""
        self.bouncer.close()
        self.bouncer = harness.PgBouncer(pool_size=POOL_SIZE, reserve_pool_size=2)
        version = self.bouncer.show("SHOW VERSION")[0]
        agent = harness.Agent(config(self.bouncer))
        try:
            for _ in range(POOL_SIZE):
                self.clients.append(self.bouncer.client("BEGIN; SELECT pg_sleep(30); COMMIT"))
            harness.wait_for(lambda: self.pool_sample(agent, "pgbouncer_pool_server_connections",
                                                      state="active") == POOL_SIZE, 15,
                             what="the pool's five server connections active")
            entry = [d for d in self.bouncer.show("SHOW DATABASES")
                     if d["name"] == "pgvigil_it"][0]
            reserve = entry.get("reserve_pool_size", entry.get("reserve_pool"))
            truth = int(entry["pool_size"]) + int(reserve)
            active = int([p for p in self.bouncer.show("SHOW POOLS")
                          if p["database"] == "pgvigil_it"][0]["sv_active"])
            target = agent.health().json()["targets"][0]
            reported = {c["name"]: c for c in target["checks"]}
            print("%s: SHOW DATABASES pool_size %s + reserve %s; agent: pgbouncer_pool_size %s, "
                  "pool_usage %s (%s)" % (
                      list(version.values())[0], entry["pool_size"], reserve,
                      harness.sample(agent.metrics(), "pgbouncer_pool_size",
                                     database="pgvigil_it"),
                      reported["pool_usage"]["value"], reported["pool_usage"]["level"]),
                  file=sys.stderr)
            self.assertEqual(truth, POOL_SIZE + 2)
            self.assertEqual(active, POOL_SIZE)
            self.assertEqual(harness.sample(agent.metrics(), "pgbouncer_pool_size",
                                            database="pgvigil_it"), truth)
            self.assertAlmostEqual(reported["pool_usage"]["value"], active / truth, places=3)
            # 0.714: above the 0.7 warning line, below the 0.9 that pages.
            self.assertEqual(reported["pool_usage"]["level"], "warn")
            pool = [p for p in target["pools"] if p["database"] == "pgvigil_it"][0]
            self.assertEqual(pool["pool_size"], truth)
        finally:
            agent.close()

    def test_stopped_pgbouncer_is_down_and_recovers_by_itself(self):
        """Also a rolling restart on PgBouncer 1.23+: its SIGTERM waits for every client to leave,
        so it stops only because the agent does not hold its console session between polls."""
        agent = harness.Agent(config(self.bouncer))
        try:
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pgbouncer_up") == 1, 10,
                             what="pgbouncer_up")
            self.bouncer.stop()
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pgbouncer_up") == 0, 10,
                             what="pgbouncer_up 0")
            health = agent.health()
            self.assertEqual(health.status, 503)
            self.assertEqual(health.json()["targets"][0]["status"], "down")
            self.bouncer.start()
            harness.wait_for(lambda: harness.sample(agent.metrics(), "pgbouncer_up") == 1, 20,
                             what="recovery by itself")
            self.assertEqual(agent.health().status, 200)
        finally:
            agent.close()

    def test_a_stats_users_account_sees_the_pools(self):
        agent = harness.Agent(config(self.bouncer, harness.PgBouncer.STATS))
        try:
            self.clients.append(self.bouncer.client("BEGIN; SELECT pg_sleep(30); COMMIT"))
            harness.wait_for(lambda: self.pool_sample(agent, "pgbouncer_pool_server_connections",
                                                      state="active") == 1, 15,
                             what="the pool seen by a stats_users account")
            target = agent.health().json()["targets"][0]
            self.assertEqual(target["status"], "ok", target["reasons"])
            self.assertEqual(harness.sample(agent.metrics(), "pgvigil_collector_success",
                                            collector="pgbouncer"), 1)
        finally:
            agent.close()


if __name__ == "__main__":
    unittest.main()
