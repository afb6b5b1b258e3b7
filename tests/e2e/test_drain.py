"""The HTTPS drain (docs/logs.md): a Heroku logplex drain POSTs its target's server log to
/logs/<target> on the agent's web port. Errors sent are counted exactly once, a wrong token or an
unframeable body counts nothing, malformed frames cost only themselves, bodies beyond the limit are
refused from their headers, and a drain flood beside idle connections leaves /metrics answering."""

import base64
import http.client
import os
import socket
import tempfile
import threading
import time
import unittest

import harness

TOKEN = "drain-token-7f3a"


def message(pid, line, code, severity, text):
    """One Heroku Postgres log line as logplex sends it (RFC 5424, "[DATABASE]" then the
    [line-chunk] marker and the heroku log_line_prefix)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return ("<190>1 %s host app postgres.%d - [DATABASE] [%d-1]  sql_error_code = %s %s:  %s"
            % (stamp, pid, line, code, severity, text))


def frame(text):
    """A logplex frame: the octet count (Heroku counts the trailing newline), a space, the
    message."""
    data = text.encode() + b"\n"
    return b"%d " % len(data) + data


class Sender:
    """Messages of one PostgreSQL backend: its [line-1] markers count up, as the server's do."""

    def __init__(self, pid):
        self.pid = pid
        self.line = 0

    def text(self, code, severity, text):
        self.line += 1
        return message(self.pid, self.line, code, severity, text)

    def __call__(self, code, severity, text):
        return frame(self.text(code, severity, text))


def basic(token):
    return "Basic " + base64.b64encode(("heroku:" + token).encode()).decode()


class DrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (harness.BINARY and harness.PORT and harness.PGDATA):
            raise AssertionError("not set: PGVIGIL_BINARY or PGVIGIL_TEST_*; run scripts/test.sh")
        cls.dir = tempfile.mkdtemp(prefix="pgvigil-drain-")
        token_file = os.path.join(cls.dir, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.agent = harness.Agent(harness.config([
            ("heroku", harness.dsn(), "collectors: {log: true}",
             "log_source: {drain: {token_file: %s}, line_prefix: heroku}" % token_file),
            ("plain", harness.dsn()),
        ]))
        # The log collector has run once: it takes what the drain leaves from now on.
        harness.wait_for(lambda: harness.sample(cls.agent.metrics(), "pgvigil_log_lines_total",
                                                target="heroku", source="drain",
                                                outcome="parsed") is not None,
                         20, what="the drain's log collector")
        cls.next_pid = 1000

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def sender(self):
        DrainTest.next_pid += 1
        return Sender(DrainTest.next_pid)

    def post(self, body, path="/logs/heroku", content_type="application/logplex-1",
             authorization=None, headers=None):
        """POSTs with Content-Length; returns (status, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.agent.port, timeout=10)
        try:
            sent = {"Content-Type": content_type,
                    "Authorization": authorization if authorization is not None
                    else basic(TOKEN),
                    "Logplex-Msg-Count": "1", "Logplex-Frame-Id": "frame-1"}
            sent.update(headers or {})
            connection.request("POST", path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            connection.close()

    def count(self, severity, sqlstate_class):
        return harness.sample(self.agent.metrics(), "pg_log_messages_total", target="heroku",
                              severity=severity, sqlstate_class=sqlstate_class) or 0.0

    def wait_count(self, severity, sqlstate_class, expected, timeout=20):
        harness.wait_for(lambda: self.count(severity, sqlstate_class) >= expected, timeout,
                         what="%s class %s to reach %s" % (severity, sqlstate_class, expected))
        # Exactly, and it stays there: nothing counted twice once the collector has passed again.
        time.sleep(2.5)
        self.assertEqual(self.count(severity, sqlstate_class), expected)

    def test_errors_are_counted_exactly(self):
        before_23 = self.count("ERROR", "23")
        before_42 = self.count("ERROR", "42")
        a, b = self.sender(), self.sender()
        dup = 'duplicate key value violates unique constraint "t_pkey"'
        first = (a("00000", "LOG", "connection received") + a("23505", "ERROR", dup) +
                 a("00000", "STATEMENT", "INSERT INTO t VALUES (1)") + a("23505", "ERROR", dup) +
                 b("42P01", "ERROR", 'relation "nope" does not exist') +
                 b("23502", "ERROR", 'null value in column "id" violates not-null constraint'))
        second = b"".join(a("23505", "ERROR", dup) for _ in range(4))
        # A Heroku drain URL's password arrives as basic auth; a bearer token is taken too.
        self.assertEqual(self.post(first)[0], 204)
        self.assertEqual(self.post(second, authorization="Bearer " + TOKEN)[0], 204)
        self.wait_count("ERROR", "23", before_23 + 7)
        self.assertEqual(self.count("ERROR", "42"), before_42 + 1)

    def test_newline_separated_messages(self):
        before = self.count("ERROR", "22")
        s = self.sender()
        body = "".join(s.text("22012", "ERROR", "division by zero") + "\r\n" for _ in range(3))
        self.assertEqual(self.post(body.encode(), content_type="text/plain")[0], 204)
        self.wait_count("ERROR", "22", before + 3)

    def test_wrong_token_counts_nothing(self):
        before = self.count("ERROR", "23")
        s = self.sender()
        body = s("23505", "ERROR", "duplicate key value violates unique constraint")
        for authorization in (basic("wrong"), "Bearer wrong", "", basic(TOKEN + "x")):
            status, _ = self.post(body, authorization=authorization)
            self.assertEqual(status, 401, authorization)
        # The web config's basic auth plays no part: only the drain's token does.
        self.assertEqual(self.post(body, path="/logs/plain")[0], 404)
        self.assertEqual(self.post(body, path="/logs/nobody")[0], 404)
        self.assertEqual(self.post(body, path="/logs/bad%20name")[0], 404)
        self.assertEqual(self.post(body, path="/logs/")[0], 404)
        # One accepted afterwards is counted alone: the refused ones never reached the log.
        self.assertEqual(self.post(s("23505", "ERROR", "duplicate key"))[0], 204)
        self.wait_count("ERROR", "23", before + 1)

    def test_malformed_frames_cost_only_themselves(self):
        before = self.count("ERROR", "23")
        s = self.sender()
        good = s("23505", "ERROR", "duplicate key")
        body = (good + b"17 not syslog at all" + frame("<999>1 bad priority") +
                s("23505", "ERROR", "duplicate key"))
        status, text = self.post(body)
        self.assertIn(status, (200, 202, 204), text)
        # The first frame's length is no number: nothing can be framed, nothing is taken.
        status, _ = self.post(b"1000000000000 " + s("23505", "ERROR", "duplicate key"))
        self.assertEqual(status, 400)
        status, _ = self.post(s("23505", "ERROR", "duplicate key"), content_type="application/json")
        self.assertEqual(status, 415)
        self.wait_count("ERROR", "23", before + 2)

    def test_methods_and_lengths_refused_from_headers(self):
        r = self.agent.request("/logs/heroku")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers.get("Allow"), "POST")
        self.assertEqual(self.agent.request("/logs/heroku", method="PUT").status, 405)

        def raw(head):
            """Sends only the request's head; returns what the agent answers, and whether it
            closed the connection after."""
            with socket.create_connection(("127.0.0.1", self.agent.port), timeout=5) as s:
                s.sendall(head)
                answer = b""
                while True:
                    try:
                        got = s.recv(65536)
                    except socket.timeout:
                        return answer.decode(errors="replace"), False
                    if not got:
                        return answer.decode(errors="replace"), True
                    answer += got

        auth = basic(TOKEN).encode()
        head = (b"POST /logs/heroku HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth +
                b"\r\nContent-Type: application/logplex-1\r\n")
        # 2 MiB announced, none sent: the answer comes from the headers, and the connection ends.
        answer, closed = raw(head + b"Content-Length: %d\r\n\r\n" % (2 << 20))
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer)
        self.assertTrue(closed)
        answer, closed = raw(head + b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 411"), answer)
        self.assertTrue(closed)
        answer, closed = raw(head + b"\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 411"), answer)
        self.assertTrue(closed)
        answer, closed = raw(head + b"Content-Length: 12\r\nContent-Encoding: gzip\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 415"), answer)
        self.assertTrue(closed)
        # A body up to the limit is taken whole: 1 MiB of messages, well past the 64 KiB that
        # bounds every other request.
        before = self.count("ERROR", "23")
        s = self.sender()
        body = s("23505", "ERROR", "duplicate key " + "x" * 900)
        while True:
            more = s("00000", "LOG", "x" * 900)
            if len(body) + len(more) > 1 << 20:
                break
            body += more
        self.assertGreater(len(body), (1 << 20) - 1100)
        self.assertEqual(self.post(body)[0], 204)
        self.wait_count("ERROR", "23", before + 1)

    def test_a_client_without_the_token_is_refused_before_its_body(self):
        # Refused from the headers: it never holds a drain slot while its body would arrive.
        with socket.create_connection(("127.0.0.1", self.agent.port), timeout=5) as s:
            s.sendall(b"POST /logs/heroku HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: 1000\r\n\r\n")
            answer = s.recv(4096)
        self.assertTrue(answer.startswith(b"HTTP/1.1 401"), answer[:40])

    def test_bodies_read_at_once_are_bounded_and_their_slots_come_back(self):
        # 16 clients with the token announce a body and send none: they hold every slot. The
        # next drain request is refused after a short wait, unread; /metrics still answers;
        # once they go, drains are taken again.
        head = (b"POST /logs/heroku HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                b"Authorization: " + basic(TOKEN).encode() + b"\r\n"
                b"Content-Length: 1000\r\n\r\n")
        holders = []
        try:
            for _ in range(16):
                s = socket.create_connection(("127.0.0.1", self.agent.port), timeout=5)
                s.sendall(head)
                holders.append(s)
            time.sleep(0.5)  # each holder's request is past its headers
            sender = self.sender()
            status, text = self.post(sender("00000", "LOG", "waits"))
            self.assertEqual(status, 503, text)
            self.assertEqual(self.agent.get("/metrics").status, 200)
        finally:
            for s in holders:
                s.close()
        before = self.count("ERROR", "23")
        harness.wait_for(lambda: self.post(sender("23505", "ERROR", "dup"))[0] == 204, 10,
                         what="a drain slot")
        self.wait_count("ERROR", "23", before + 1)

    def test_flood_beside_idle_connections_leaves_metrics_answering(self):
        idle = [socket.create_connection(("127.0.0.1", self.agent.port), timeout=5)
                for _ in range(200)]
        before = self.count("ERROR", "22")
        threads, requests, errors_per_request = 4, 20, 50
        statuses = []
        lock = threading.Lock()

        def flood():
            s = self.sender()
            for _ in range(requests):
                body = b"".join(s("22012", "ERROR", "division by zero") +
                                s("00000", "LOG", "duration: 1.000 ms")
                                for _ in range(errors_per_request))
                status = self.post(body)[0]
                with lock:
                    statuses.append(status)

        floods = [threading.Thread(target=flood) for _ in range(threads)]
        try:
            for t in floods:
                t.start()
            scrapes = []
            while any(t.is_alive() for t in floods):
                scrapes.append(self.agent.get("/metrics", timeout=5).status)
            for t in floods:
                t.join()
            scrapes.append(self.agent.get("/metrics", timeout=5).status)
            self.assertEqual(set(scrapes), {200})
            self.assertEqual(statuses, [204] * (threads * requests))
        finally:
            for s in idle:
                s.close()
        self.wait_count("ERROR", "22", before + threads * requests * errors_per_request, 60)


if __name__ == "__main__":
    unittest.main()
