"""The status page on / in a real browser (Debian's Chromium, driven by Playwright from the npm
registry): for a running agent watching applications the test starts, every chart renders with
data points, the sessions-by-application chart draws the sessions the test holds, nothing is
requested from outside the agent, no script fails, the page fits a phone, and it works behind
basic auth. With PGVIGIL_SCREENSHOTS=DIR it also saves the screenshots docs/ shows."""

import json
import os
import subprocess
import tempfile
import unittest

import harness

PLAYWRIGHT_VERSION = "1.65.1"
HISTORY_POINTS = 3  # samples are 10 s apart: the charts then have lines, not dots


def playwright_dir():
    return subprocess.run([os.path.join(harness.SOURCE_DIR, "scripts", "fetch-npm.sh"),
                           "playwright-core", PLAYWRIGHT_VERSION], check=True,
                          capture_output=True, text=True).stdout.strip()


def open_page(url, *args):
    script = os.path.join(harness.SOURCE_DIR, "tests", "browser", "status_page.js")
    r = subprocess.run(["node", script, playwright_dir(), url] + list(args),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("the browser script failed: " + r.stderr)
    return json.loads(r.stdout)


def screenshot_args(name):
    directory = os.environ.get("PGVIGIL_SCREENSHOTS")
    return ["--screenshot=" + os.path.join(directory, name)] if directory else []


class StatusPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_environment(cls)
        cls.pools = [harness.Pool(3, "it_user", "it-pw", "pgvigil_it", application="checkout"),
                     harness.Pool(2, "it_user", "it-pw", "pgvigil_it", application="reports")]
        cls.agent = harness.Agent(harness.config([("primary", harness.dsn())]))

        def history_filled():
            history = cls.agent.get("/history?target=primary").json()
            usage = [v for v in history["connection_usage"] if v is not None]
            return len(usage) >= HISTORY_POINTS and "checkout" in history["applications"]
        harness.wait_for(history_filled, 10 * HISTORY_POINTS + 15,
                         what="%d history points" % HISTORY_POINTS)

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        for pool in cls.pools:
            pool.close()

    def test_charts_render_with_the_data_the_agent_holds(self):
        page = open_page(self.agent.url("/"), *screenshot_args("status-page.png"))
        self.assertEqual(page["status"], 200)
        self.assertEqual(page["errors"], [])
        self.assertEqual(page["external_requests"], [])
        self.assertEqual(page["targets"], [{"name": "primary", "status": page["targets"][0]["status"]}])
        charts = {c["id"]: c for c in page["charts"]}
        for name in ("connection_usage", "applications", "latency", "error_ratio"):
            chart = charts.get("primary/" + name)
            self.assertIsNotNone(chart, name)
            self.assertGreater(chart["canvas"]["width"], 0, name)
        self.assertGreaterEqual(charts["primary/connection_usage"]["points"], HISTORY_POINTS)
        self.assertGreaterEqual(charts["primary/latency"]["points"], HISTORY_POINTS - 1)
        # The truth the test holds: 3 sessions named checkout, 2 named reports.
        sessions = charts["primary/applications"]["last"]
        self.assertEqual(sessions["checkout"], 3)
        self.assertEqual(sessions["reports"], 2)
        # The 90% line is drawn where the alert fires.
        self.assertEqual(charts["primary/connection_usage"]["last"]["alert at 90 %"], 90)
        # Usage as /health computes it, within the sessions that come and go meanwhile.
        usage = self.agent.health("primary").json()["targets"][0]["connections"]["usage_ratio"]
        self.assertAlmostEqual(charts["primary/connection_usage"]["last"]["usage"], 100 * usage,
                               delta=100 * 2 / 37)

    def test_details_have_headings_and_show_replication_only_when_health_has_it(self):
        page = open_page(self.agent.url("/"))
        self.assertEqual(page["errors"], [])
        section = {s["id"]: s for s in page["sections"]}["target-primary"]
        # The recent errors sit under their own heading, after the slow statements.
        self.assertEqual([h for h in section["headings"] if h in ("Slow statements", "Recent errors")],
                         ["Slow statements", "Recent errors"], section["headings"])
        # The replication and maintenance blocks are there exactly when /health reports them,
        # and say what it says.
        health = self.agent.health("primary").json()["targets"][0]
        for block in ("replication", "maintenance"):
            self.assertEqual(section[block] is not None, health.get(block) is not None,
                             (block, section[block], health.get(block)))
        if health.get("replication"):
            self.assertIn("Role: " + health["replication"]["role"], section["replication"])
            for slot in health["replication"]["slots"]:
                self.assertIn(slot["name"], section["replication"])
        if health.get("maintenance"):
            self.assertIn("of the 2^31 limit", section["maintenance"])

    def test_fits_a_phone(self):
        page = open_page(self.agent.url("/"), "--width=390",
                         *screenshot_args("status-page-phone.png"))
        self.assertEqual(page["errors"], [])
        self.assertFalse(page["overflow"], "the page is wider than a 390 px screen")
        self.assertTrue(all(c["canvas"]["width"] <= 390 for c in page["charts"]), page["charts"])

    def test_history_endpoint(self):
        self.assertEqual(self.agent.get("/history").status, 400)
        self.assertEqual(self.agent.get("/history?target=nope").status, 404)
        history = self.agent.get("/history?target=primary").json()
        self.assertEqual(history["step_seconds"], 10)
        lengths = {len(history[k]) for k in ("t", "connection_usage", "probe_ms", "connect_ms",
                                             "error_ratio")}
        self.assertEqual(len(lengths), 1)
        self.assertLessEqual(lengths.pop(), 360)


class StatusPageAuthTest(unittest.TestCase):
    def test_works_behind_basic_auth(self):
        harness.require_environment(self)
        hashed = subprocess.run(
            ["python3", "-W", "ignore", "-c",
             "import crypt; print(crypt.crypt('page-pw', crypt.mksalt(crypt.METHOD_BLOWFISH, "
             "rounds=32)))"], check=True, capture_output=True, text=True).stdout.strip()
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("basic_auth_users:\n  viewer: '%s'\n" % hashed)
            web_config = f.name
        agent = harness.Agent(harness.config([("primary", harness.dsn())]),
                              extra_args=["--web.config.file=" + web_config])
        try:
            self.assertEqual(open_page(agent.url("/"))["status"], 401)
            page = open_page(agent.url("/"), "--user=viewer", "--password=page-pw")
            self.assertEqual(page["status"], 200)
            self.assertEqual(page["errors"], [])
            self.assertIn("primary/connection_usage", [c["id"] for c in page["charts"]])
        finally:
            agent.close()
            os.unlink(web_config)


if __name__ == "__main__":
    unittest.main()
