"""The HTTP endpoint under hostile clients and hurried operators (docs/architecture.md): slow and idle
connections never starve scrapes, SIGTERM still exits in time, bodies are refused, reload
storms under concurrent scrapes are survived, invalid UTF-8 is a 4xx, and a web config that
would fail open is refused at start."""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raw_request(port, data, timeout=5):
    """Sends raw bytes and returns the status line (or "" when the server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            answer = s.recv(4096).decode(errors="replace")
        except OSError:
            return ""
    return answer.split("\r\n", 1)[0]


class HostileClientTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)
        self.agent = harness.Agent(harness.config([("primary", harness.dsn())]))

    def tearDown(self):
        if self.agent.process.poll() is None:
            self.agent.close()

    def open_slow_clients(self, count):
        """`count` connections: half idle, half dripping a request header a byte at a time."""
        clients = []
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", self.agent.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            clients.append(s)
        return clients

    def drip(self, clients, stop):
        while not stop.is_set():
            for s in clients[1::2]:
                try:
                    s.sendall(b"a")
                except OSError:
                    pass
            stop.wait(1)

    def test_200_slow_connections_never_starve_scrapes(self):
        clients = self.open_slow_clients(200)
        stop = threading.Event()
        dripper = threading.Thread(target=self.drip, args=(clients, stop))
        dripper.start()
        try:
            slowest = 0.0
            for _ in range(20):
                start = time.monotonic()
                r = self.agent.get("/metrics", timeout=5)
                slowest = max(slowest, time.monotonic() - start)
                self.assertEqual(r.status, 200)
                time.sleep(0.1)
            self.assertLess(slowest, 1.0, "a scrape waited behind slow clients")
            # SIGTERM exits 0 within 5 s while they are still open.
            start = time.monotonic()
            self.agent.process.send_signal(signal.SIGTERM)
            self.assertEqual(self.agent.process.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - start, 5.0)
        finally:
            stop.set()
            dripper.join()
            for s in clients:
                s.close()

    def test_huge_body_is_refused_before_it_is_read(self):
        # A GET announcing a terabyte: 413 and the connection closed, answered from the headers
        # alone.
        with socket.create_connection(("127.0.0.1", self.agent.port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n")
            answer = s.recv(4096).decode(errors="replace")
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer)
        self.assertIn("Connection: close", answer)
        status = raw_request(self.agent.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertTrue(status.startswith("HTTP/1.1 413"), status)
        self.assertEqual(self.agent.get("/metrics").status, 200)

    def test_endless_request_line_costs_no_memory(self):
        # 64 MiB of request line, sent as fast as the agent reads: it reads 64 KiB of a
        # request at most, answers 414 and closes. Four such clients at once must not move the
        # agent's RSS by more than 16 MiB (the threads' stacks and buffers; the lines are 256 MiB).
        before = rss_kib(self.agent.process.pid)
        answers = []

        def flood():
            with socket.create_connection(("127.0.0.1", self.agent.port), timeout=10) as s:
                s.sendall(b"GET /")
                chunk = b"a" * (1 << 20)
                try:
                    for _ in range(64):
                        s.sendall(chunk)
                except OSError:
                    pass  # the agent closed: what it should do
                try:
                    answers.append(s.recv(4096).decode(errors="replace").split("\r\n", 1)[0])
                except OSError:
                    answers.append("")
        floods = [threading.Thread(target=flood) for _ in range(4)]
        for t in floods:
            t.start()
        peak = before
        while any(t.is_alive() for t in floods):
            peak = max(peak, rss_kib(self.agent.process.pid))
            time.sleep(0.02)
        for t in floods:
            t.join()
        self.assertLess(peak - before, 16 * 1024, "RSS grew by %d KiB" % (peak - before))
        for answer in answers:
            self.assertIn(answer, ("HTTP/1.1 414 URI Too Long", ""), answers)
        self.assertEqual(self.agent.get("/metrics").status, 200)

    def test_a_request_dripping_past_its_deadline_is_closed(self):
        # One byte every second beats the 5 s read timeout forever; the whole request's 10 s
        # deadline ends it.
        with socket.create_connection(("127.0.0.1", self.agent.port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            start = time.monotonic()
            closed_after = None
            received = []
            while time.monotonic() - start < 20:
                try:
                    s.sendall(b"a")
                    s.settimeout(1)
                    answer = s.recv(4096)
                    if answer == b"":
                        closed_after = time.monotonic() - start
                        break
                    received.append(answer)
                except socket.timeout:
                    continue
                except OSError:
                    closed_after = time.monotonic() - start
                    break
        self.assertIsNotNone(closed_after, "a dripping request was held open for 20 s")
        self.assertTrue(all(a.startswith(b"HTTP/1.1 4") for a in received), received)
        self.assertGreater(closed_after, 8)
        self.assertLess(closed_after, 13)

    def test_invalid_utf8_is_a_client_error(self):
        r = self.agent.get("/health?target=%FF%FE")
        self.assertEqual(r.status, 404)
        self.assertIn("unknown target", r.body)
        status = raw_request(self.agent.port, b"GET /health\xff HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertRegex(status, r"^HTTP/1\.1 4\d\d")

    def test_reload_storm_under_concurrent_scrapes(self):
        stop = threading.Event()
        failures = []

        def scrape():
            while not stop.is_set():
                for path in ("/metrics", "/health", "/health/live", "/health/ready", "/"):
                    try:
                        status = self.agent.get(path, timeout=5).status
                        if status >= 500 and status != 503:
                            failures.append((path, status))
                    except OSError as error:
                        failures.append((path, str(error)))
        scrapers = [threading.Thread(target=scrape) for _ in range(8)]
        for t in scrapers:
            t.start()
        try:
            # Every other reload changes a target, so the state really is replaced.
            configs = [harness.config([("primary", harness.dsn())]),
                       harness.config([("primary", harness.dsn()), ("second", harness.dsn())])]
            for i in range(1000):
                self.agent.rewrite_config(configs[i % 2])
                self.agent.send(signal.SIGHUP)
                if i % 50 == 0:
                    time.sleep(0.05)
            time.sleep(1)
        finally:
            stop.set()
            for t in scrapers:
                t.join()
        self.assertIsNone(self.agent.process.poll(), "the agent died:\n" + self.agent.logs())
        self.assertEqual(failures, [])
        self.assertEqual(self.agent.get("/metrics").status, 200)


class MisconfigurationTest(unittest.TestCase):
    def test_web_configs_that_would_fail_open_exit_2(self):
        harness.require_environment(self)
        directory = os.path.dirname(harness.BINARY)
        cert, key = harness.self_signed_certificate("e2e-hostile")
        tls = "tls_server_config:\n  cert_file: %s\n  key_file: %s\n" % (cert, key)
        cases = {
            "verify without a CA": tls + "  client_auth_type: RequireAndVerifyClientCert\n",
            "a CA nothing checks": tls + "  client_ca_file: %s\n" % cert,
            "empty TLS": "tls_server_config: {}\n",
            "scalar TLS": "tls_server_config: on\n",
            "key for another certificate": "tls_server_config:\n  cert_file: %s\n"
                                           "  key_file: %s\n" % (key, key),
            "malformed hash": "basic_auth_users:\n  prometheus: '$2y$10$short'\n",
            "type-confused user": "basic_auth_users:\n  ? [a, b]\n  : c\n",
        }
        for name, text in cases.items():
            web = os.path.join(directory, "e2e-hostile-web.yml")
            with open(web, "w") as f:
                f.write(text)
            path = os.path.join(directory, "e2e-hostile.yaml")
            with open(path, "w") as f:
                f.write(harness.config([("primary", harness.dsn())],
                                       extra="web:\n  config_file: %s\n" % web))
            for args in (["--check-config"], ["--web.listen-address=127.0.0.1:0"]):
                r = subprocess.run([harness.BINARY, "--config.file=" + path] + args,
                                   capture_output=True, text=True, timeout=20)
                self.assertEqual(r.returncode, 2, (name, args, r.stdout, r.stderr))
                self.assertIn("e2e-hostile-web.yml", r.stderr, name)
                self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main()
