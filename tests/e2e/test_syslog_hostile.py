"""The syslog listener under hostile senders: garbage, absurd frame lengths, oversized lines and
200 idle connections on the port, with bounded memory, scrapes answered and only the one good
error counted."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness


class SyslogHostileTest(unittest.TestCase):
    """Garbage, absurd frame lengths and idle connections on the syslog port: bounded memory,
    scrapes answered, nothing counted for the target."""

    def setUp(self):
        harness.require_environment(self)
        self.port = harness.free_port()
        self.agent = harness.Agent(harness.config(
            [("primary", harness.dsn(), "collectors: {log: true}",
              "log_source: {syslog: {listen: '127.0.0.1:%d'}, line_prefix: debian}" % self.port)]))
        harness.wait_for(lambda: harness.sample(self.agent.metrics(),
                                                "pgvigil_log_receiver_connections") is not None,
                         10, what="the syslog listener")

    def tearDown(self):
        self.agent.close()

    def rss_kib(self):
        with open("/proc/%d/status" % self.agent.process.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def test_hostile_senders(self):
        before = self.rss_kib()
        idle = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", self.port))
            idle.append(s)
        # A frame length of 10^12: the connection is cut, nothing is buffered.
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b"1000000000000 <13>1 - - - - - - x")
            s.settimeout(5)
            self.assertEqual(s.recv(10), b"")
        # Garbage and a flood of 16 MiB of lines that are not syslog, on four connections.
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", self.port)) as s:
                try:
                    s.sendall(os.urandom(1 << 20) + b"\n" + (b"x" * 100 + b"\n") * 30000)
                except (ConnectionResetError, BrokenPipeError):
                    pass  # cut off for bytes that cannot be framed: what should happen
        # A line that is syslog but 1 MiB long: dropped, the next one on the same connection kept.
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b"<13>Dec  7 02:00:00 host postgres[1]: " + b"y" * (1 << 20) + b"\n")
            s.sendall(b"<13>Dec  7 02:00:00 host postgres[1]: [1-1] 2026-12-07 02:00:00.000 UTC "
                      b"[1] u@d ERROR:  boom\n")
        samples = harness.wait_for(
            lambda: (lambda m: m if harness.sample(m, "pg_log_messages_total", severity="ERROR",
                                                   sqlstate_class="") == 1 else None)(
                self.agent.metrics()), 15, what="the one good error counted")
        self.assertGreater(harness.sample(samples, "pgvigil_log_receiver_messages_total",
                                          outcome="malformed"), 0)
        self.assertEqual(harness.sample(samples, "pgvigil_log_receiver_messages_total",
                                        outcome="oversized"), 1)
        self.assertGreaterEqual(harness.sample(samples, "pgvigil_log_receiver_connections"), 200)
        for _ in range(20):
            self.assertEqual(self.agent.get("/metrics").status, 200)
        growth = self.rss_kib() - before
        self.assertLess(growth, 64 * 1024, "RSS grew by %d KiB" % growth)
        for s in idle:
            s.close()


class SharedListenerTest(unittest.TestCase):
    """Several targets on one listen address: each takes the messages whose HOSTNAME or APP-NAME
    is its `match`; a message matching none is counted unmatched, never another target's."""

    def test_match_routes_each_message_to_its_target(self):
        harness.require_environment(self)
        port = harness.free_port()
        listen = "log_source: {syslog: {listen: '127.0.0.1:%d', match: %s}, line_prefix: debian}"
        agent = harness.Agent(harness.config(
            [("a", harness.dsn(), "collectors: {log: true}", listen % (port, "db-a")),
             ("b", harness.dsn(), "collectors: {log: true}", listen % (port, "db-b"))]))
        try:
            harness.wait_for(lambda: harness.sample(
                agent.metrics(), "pgvigil_log_receiver_connections") is not None, 10,
                what="the shared listener")
            line = ("<131>1 2026-12-07T02:00:00.000Z %s postgres 7 - - [%d-1] 2026-12-07 "
                    "02:00:00.000 UTC [7] u@d ERROR:  boom\n")
            sent = {"db-a": 3, "db-b": 5, "db-c": 2}
            with socket.create_connection(("127.0.0.1", port)) as s:
                sequence = 0
                for host, count in sent.items():
                    for _ in range(count):
                        sequence += 1
                        s.sendall((line % (host, sequence)).encode())

            def routed():
                samples = agent.metrics()
                counts = {target: harness.sample(samples, "pg_log_messages_total", target=target,
                                                 severity="ERROR", sqlstate_class="")
                          for target in ("a", "b")}
                unmatched = harness.sample(samples, "pgvigil_log_receiver_messages_total",
                                           outcome="unmatched")
                return (counts, unmatched) if counts == {"a": 3, "b": 5} and unmatched == 2 \
                    else None
            harness.wait_for(routed, 15, what="each target's errors and the unmatched ones")
        finally:
            agent.close()


def make_ca_and_certs(directory):
    """A throwaway CA, a server certificate for localhost and a client certificate, both signed by
    it, and a client certificate signed by nobody the server trusts."""
    def run(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=directory)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=pgvigil test CA", "-keyout", "ca.key", "-out", "ca.crt")
    for name, cn in (("server", "localhost"), ("client", "forwarder")):
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
            "-keyout", name + ".key", "-out", name + ".csr")
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-out", name + ".crt")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=stranger", "-keyout", "stranger.key", "-out", "stranger.crt")
    return {name: os.path.join(directory, name) for name in
            ("ca.crt", "server.crt", "server.key", "client.crt", "client.key", "stranger.crt",
             "stranger.key")}


class ClientCertificateTest(unittest.TestCase):
    """tls.client_ca_file: a sender must present a certificate signed by that CA; one without a
    certificate, or with another, is cut off at the handshake and nothing it sends is counted."""

    def test_only_senders_with_a_certificate_of_the_ca_are_heard(self):
        harness.require_environment(self)
        directory = tempfile.mkdtemp(prefix="pgvigil-syslog-tls-")
        self.addCleanup(shutil.rmtree, directory, True)
        files = make_ca_and_certs(directory)
        port = harness.free_port()
        agent = harness.Agent(harness.config(
            [("primary", harness.dsn(), "collectors: {log: true}",
              "log_source: {syslog: {listen: '127.0.0.1:%d', tls: {cert_file: %s, key_file: %s, "
              "client_ca_file: %s}}, line_prefix: debian}" % (
                  port, files["server.crt"], files["server.key"], files["ca.crt"]))]))
        self.addCleanup(agent.close)
        harness.wait_for(lambda: harness.sample(
            agent.metrics(), "pgvigil_log_receiver_connections") is not None, 10,
            what="the TLS listener")
        line = ("<131>1 2026-12-07T02:00:00.000Z db postgres 7 - - [%d-1] 2026-12-07 "
                "02:00:00.000 UTC [7] u@d ERROR:  boom\n")

        def send(certificate, sequence):
            context = ssl.create_default_context(cafile=files["ca.crt"])
            if certificate:
                context.load_cert_chain(files[certificate + ".crt"], files[certificate + ".key"])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                    with context.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall((line % sequence).encode())
                        tls.recv(1)  # the listener never answers: wait for it to close or time out
            except (ssl.SSLError, OSError):
                pass  # refused at the handshake (TLS 1.3 may report it at the first read)

        send(None, 1)
        send("stranger", 2)
        send("client", 3)

        def counted():
            samples = agent.metrics()
            errors = harness.sample(samples, "pg_log_messages_total", severity="ERROR",
                                    sqlstate_class="")
            rejected = harness.sample(samples, "pgvigil_log_receiver_rejected_connections_total")
            return (errors, rejected) if errors == 1 and rejected >= 2 else None
        harness.wait_for(counted, 15, what="only the sender with the CA's certificate counted")


if __name__ == "__main__":
    unittest.main()
