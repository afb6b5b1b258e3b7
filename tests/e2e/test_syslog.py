"""Error rates from the server log over syslog, as managed services deliver it: the test
server writes to syslog (log_destination = syslog), Debian's rsyslog takes it from /dev/log and
forwards it to the agent's syslog listener over TCP (newline or octet-counted framing, or TLS),
and the agent counts errors by SQLSTATE against the statements the application ran. Each run
sets a provider's log_line_prefix preset on the server; the truth is what the test sent."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness

APP = ("it_user", "it-pw", "pgvigil_it")
# Presets and the log_line_prefix the server is given for each: one of each provider's choices.
PRESETS = {
    "aiven": "%m [%p] %q[user=%u,db=%d,app=%a] ",
    "rds": "%t:%r:%u@%d:[%p]:",
    "heroku": " sql_error_code = %e time_ms = \"%m\" pid=\"%p\" proc_start_time=\"%s\" "
              "session_id=\"%c\" vtid=\"%v\" tid=\"%x\" log_line=\"%l\" %qdatabase=\"%d\" "
              "connection_source=\"%r\" user=\"%u\" application_name=\"%a\" ",
    "azure": "%t-%c-",
    "debian": "%m [%p] %q%u@%d ",
}
ALL_MAJORS = os.environ.get("PGVIGIL_TEST_MAJOR", "15") == "15"
# The sanitizer builds' run (scripts/test.sh) takes one preset: the others take the same code.
SANITIZED = bool(os.environ.get("PGVIGIL_SANITIZED"))


def stop_daemon(process, directory):
    """Stops a syslog daemon the test started, and removes its /dev/log (a daemon may leave its
    socket behind) and its directory."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if os.path.exists("/dev/log"):
        os.unlink("/dev/log")
    shutil.rmtree(directory, ignore_errors=True)


class Rsyslog:
    """Debian's rsyslogd with a private config: /dev/log in, the agent's listener out."""

    def __init__(self, port, framing="traditional", tls_ca=None, protocol="tcp"):
        self.dir = tempfile.mkdtemp(prefix="pgvigil-rsyslog-")
        os.chmod(self.dir, 0o755)
        tls = ""
        global_tls = ""
        if tls_ca:
            global_tls = 'DefaultNetstreamDriverCAFile="%s"' % tls_ca
            tls = ('StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name" '
                   'StreamDriverPermittedPeers="localhost"')
        conf = os.path.join(self.dir, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write("""global(workDirectory="%(dir)s" %(global_tls)s)
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="/dev/log" CreatePath="off" RateLimit.Interval="0")
if $programname == 'postgres' then {
  action(type="omfwd" target="127.0.0.1" port="%(port)d" protocol="%(protocol)s"
         %(framing)s template="RSYSLOG_SyslogProtocol23Format" %(tls)s
         queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
}
""" % {"dir": self.dir, "port": port, "protocol": protocol, "tls": tls,
       "framing": 'TCP_Framing="%s"' % framing if protocol == "tcp" else "",
       "global_tls": global_tls})
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.process = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", self.pidfile],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_for(lambda: os.path.exists("/dev/log") and
                         stat.S_ISSOCK(os.stat("/dev/log").st_mode), 10, what="rsyslog's /dev/log")
        os.chmod("/dev/log", 0o666)

    def stop(self):
        stop_daemon(self.process, self.dir)


class Relay:
    """A TCP relay between a forwarder and the agent that can hold back what it reads (it keeps
    reading, so the forwarder never blocks) and later pass it all on."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.held = threading.Event()
        self.buffer = bytearray()
        self.lock = threading.Lock()
        self.closed = False

    def start(self, target_port):
        self.target_port = target_port
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        source, _ = self.listener.accept()
        sink = socket.create_connection(("127.0.0.1", self.target_port))
        source.settimeout(0.2)
        while not self.closed:
            try:
                data = source.recv(65536)
                if not data:
                    break
            except socket.timeout:
                data = b""
            with self.lock:
                self.buffer.extend(data)
                if not self.held.is_set() and self.buffer:
                    sink.sendall(bytes(self.buffer))
                    self.buffer.clear()
        sink.close()
        source.close()

    def hold(self):
        self.held.set()

    def release(self):
        self.held.clear()

    def close(self):
        self.closed = True
        self.listener.close()


def set_server(prefix, verbosity="default", destination="syslog"):
    harness.psql("ALTER SYSTEM SET log_destination = '%s'" % destination)
    harness.psql("ALTER SYSTEM SET log_line_prefix = '%s'" % prefix.replace("'", "''"))
    harness.psql("ALTER SYSTEM SET log_error_verbosity = '%s'" % verbosity)
    harness.psql("SELECT pg_reload_conf()")
    time.sleep(0.5)


def reset_server():
    for setting in ("log_destination", "log_line_prefix", "log_error_verbosity"):
        harness.psql("ALTER SYSTEM RESET %s" % setting)
    harness.psql("SELECT pg_reload_conf()")


class SyslogForwarding:
    """The agent, and a syslog daemon forwarding the test server's syslog output to its listener;
    the application's workload and the measure of its errors. Test cases mix it in and say which
    daemon forwards (`forwarder`, `FORWARDER`); test_syslog_ng.py uses it for syslog-ng."""

    FORWARDER = "rsyslog"

    def forwarder(self, port, framing, tls_ca, protocol):
        return Rsyslog(port, framing, tls_ca, protocol)

    def setUp(self):
        harness.require_environment(self)
        if os.path.exists("/dev/log"):
            self.skipTest("/dev/log belongs to this machine's syslog daemon; the test needs it")
        self.daemon = None
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.close()
            self.agent = None
        if self.daemon:
            self.daemon.stop()
            self.daemon = None
        reset_server()

    def start(self, preset, framing="traditional", tls=False, udp=False, relay=None):
        port = harness.free_port()
        tls_config = ", udp: true" if udp else ""
        ca = None
        if tls:
            cert, key = harness.self_signed_certificate("syslog")
            tls_config += ", tls: {cert_file: %s, key_file: %s}" % (cert, key)
            ca = cert
        self.agent = harness.Agent(harness.config(
            [("primary", harness.dsn(), "collectors: {log: true}",
              "log_source: {syslog: {listen: '127.0.0.1:%d'%s, match: postgres}, "
              "line_prefix: %s}" % (port, tls_config, preset))],
            defaults={"statements_interval": "1s", "probe_interval": "1s"}))
        if relay:
            relay.start(port)
        self.daemon = self.forwarder(relay.port if relay else port, framing, ca,
                                     "udp" if udp else "tcp")
        harness.wait_for(lambda: self.agent.health().json()["targets"][0]["errors"]
                         ["application_errors"] is not None, 30,
                         what="a first statements window the log pipeline delivered past")

    def workload(self, requests=300, failing_every=12, fatal_logins=3):
        """A pooled application: a SELECT 1 check and one insert per request; one request in
        `failing_every` fails, cycling through 23505, 22P02 and 42601; then `fatal_logins`
        logins with a wrong password (FATAL 28P01). Returns the truth."""
        pool = harness.Pool(4, *APP, application="checkout")
        sent = {"23": 0, "22": 0, "42": 0, "28": 0}
        ok = 0
        bad = [("23", "INSERT INTO syslog_t VALUES (1);"),
               ("22", "INSERT INTO syslog_t VALUES ('x');"),
               ("42", "INSERT INTO syslog_t VALUES 1;")]
        for i in range(requests):
            if i % failing_every == failing_every - 1:
                cls, sql = bad[(i // failing_every) % len(bad)]
                sent[cls] += 1
                pool.request(sql)
            else:
                ok += 1
                pool.request("INSERT INTO syslog_t VALUES (%d);" % (1000 + i))
        pool.close()
        env = dict(os.environ, PGPASSWORD="wrong-password")
        for _ in range(fatal_logins):
            subprocess.run(["psql", "-X", "-h", harness.HOST, "-p", harness.PORT, "-U", APP[0],
                            "-d", APP[2], "-c", "SELECT 1"], env=env, capture_output=True)
            sent["28"] += 1
        errors = sum(sent.values())
        return sent, ok, errors / (ok + errors)

    def measure(self, preset, prefix, verbosity="default", framing="traditional", tls=False,
                udp=False, before_workload=None, after_workload=None, relay=None):
        harness.psql("DROP TABLE IF EXISTS syslog_t; CREATE TABLE syslog_t (id int PRIMARY KEY);"
                     "GRANT ALL ON syslog_t TO it_user; INSERT INTO syslog_t VALUES (1)",
                     dbname="pgvigil_it")
        set_server(prefix, verbosity)
        self.start(preset, framing, tls, udp, relay)
        if before_workload:
            before_workload()
        sent, ok, truth = self.workload()
        if after_workload:
            after_workload()
        carried = "%e" in prefix or verbosity == "verbose"

        def settled():
            samples = self.agent.metrics()
            by_class = {cls: harness.sample(samples, "pg_log_messages_total",
                                            severity="ERROR" if cls != "28" else "FATAL",
                                            sqlstate_class=cls if carried else "") or 0
                        for cls in sent}
            errors = self.agent.health().json()["targets"][0]["errors"]
            counted = (sum(by_class.values()) if carried
                       else by_class["23"] + (by_class["28"]))
            last[:] = [by_class, errors["error_ratio"], errors["application_errors"]]
            # Every error counted, and the windows judged so far hold every work statement (a
            # window is judged once a heartbeat after its end has come back).
            if counted < sum(sent.values()) or errors["application_errors"] != sum(sent.values()) \
                    or (errors["work_statements"] or 0) < ok:
                return None
            return by_class, errors
        last = []
        try:
            by_class, errors = harness.wait_for(settled, 60, what="every error counted")
        except AssertionError as e:
            raise AssertionError("%s; sent %s, last %s" % (e, sent, last)) from None
        if carried:
            self.assertEqual(by_class, sent)
        ratio = errors["error_ratio"]
        delay = harness.sample(self.agent.metrics(), "pgvigil_log_delay_seconds")
        print("\nPostgreSQL %s %s %s%s preset %s verbosity %s: sent %s, counted %s; truth %.4f, "
              "error_ratio %.4f, pipeline delay %.3f s" % (
                  os.environ.get("PGVIGIL_TEST_MAJOR", "15"), self.FORWARDER,
                  "udp" if udp else framing, " TLS" if tls else "", preset, verbosity, sent,
                  by_class, truth, ratio, delay if delay is not None else -1), file=sys.stderr)
        self.assertAlmostEqual(ratio, truth, delta=0.01)
        samples = self.agent.metrics()
        # The heartbeat came back through the whole pipeline and was known as the agent's own.
        self.assertIsNotNone(harness.sample(samples, "pgvigil_log_delay_seconds"))
        self.assertEqual(harness.sample(samples, "pgvigil_log_errors_total", source="agent"), 0)
        self.assertGreater(harness.sample(samples, "pgvigil_log_lines_total", source="syslog",
                                          outcome="parsed"), 0)
        checks = {c["name"]: c for c in self.agent.health().json()["targets"][0]["checks"]}
        self.assertEqual(checks["log_source"]["level"], "ok")
        return ratio, truth


class SyslogTest(SyslogForwarding, unittest.TestCase):
    def test_every_preset_newline_framing(self):
        if not ALL_MAJORS:
            self.skipTest("the other majors run the verbose, octet-counted case")
        presets = {"heroku": PRESETS["heroku"]} if SANITIZED else PRESETS
        for preset, prefix in presets.items():
            with self.subTest(preset=preset):
                try:
                    self.measure(preset, prefix)
                finally:
                    self.tearDown()

    def test_verbose_errors_octet_counted(self):
        self.measure("rds", PRESETS["rds"], verbosity="verbose", framing="octet-counted")

    @unittest.skipUnless(ALL_MAJORS, "TLS is the same on every major")
    def test_tls(self):
        self.measure("aiven", PRESETS["aiven"], tls=True, framing="octet-counted")

    @unittest.skipUnless(ALL_MAJORS, "UDP is the same on every major")
    def test_udp(self):
        self.measure("debian", PRESETS["debian"], udp=True)

    @unittest.skipUnless(ALL_MAJORS, "the forwarder is the same on every major")
    def test_held_back_forwarder_judges_no_window_before_its_lines_arrive(self):
        """The forwarder's output is held back (a relay between rsyslog and the agent keeps
        reading and holds what it read) while the application works and fails, for longer than
        several statements windows: /health must not count those windows' statements without
        their errors (a diluted, too low error ratio); once the relay lets go, every error is
        counted in its own window and the ratio is the truth. (Stopping rsyslog itself would
        block the server: PostgreSQL's syslog() waits when /dev/log's queue is full.)"""
        relay = Relay()
        self.addCleanup(relay.close)
        held = {}

        def hold():
            relay.hold()
            time.sleep(1.5)  # the last heartbeat before the hold is in
            held["work"] = self.agent.health().json()["targets"][0]["errors"]["work_statements"]

        def check_and_release():
            time.sleep(6)  # six statements intervals
            errors = self.agent.health().json()["targets"][0]["errors"]
            held["work_while_held"] = errors["work_statements"]
            relay.release()

        self.measure("debian", PRESETS["debian"], before_workload=hold,
                     after_workload=check_and_release, relay=relay)
        # While held, the windows after the last delivered heartbeat stayed unjudged: the
        # application's statements of that time were not counted without their errors.
        self.assertLessEqual(held["work_while_held"], held["work"] + 2)

    @unittest.skipUnless(ALL_MAJORS, "the forwarder is the same on every major")
    def test_stopped_forwarder_is_a_silent_source_not_zero_errors(self):
        set_server(PRESETS["debian"])
        self.start("debian")
        self.daemon.stop()
        self.daemon = None
        # Nothing arrives any more, not even the heartbeat: after the silence limit (60 s, or
        # three statements intervals) the source is a warning, and no window is judged.
        def silent():
            target = self.agent.health().json()["targets"][0]
            checks = {c["name"]: c for c in target["checks"]}
            return target if checks["log_source"]["level"] == "warn" else None
        target = harness.wait_for(silent, 90, what="log_source warn")
        self.assertIn("log_source", " ".join(target["reasons"]))


if __name__ == "__main__":
    unittest.main()
