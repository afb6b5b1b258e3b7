"""The syslog path of test_syslog.py with syslog-ng forwarding instead of rsyslog: the test
server writes to syslog, syslog-ng (Debian 12's, unpacked by scripts/fetch-syslog-ng.sh, since
its package conflicts with rsyslog's) takes it from /dev/log and forwards it to the agent's
listener over TCP, once with the network() driver (RFC 3164, newline frames) and once with the
syslog() driver (RFC 5424, octet-counted frames). Errors by SQLSTATE class and the error ratio
are compared with what the test sent. The forwarder does not depend on the server's major: this
runs with PostgreSQL 15 only."""

import glob
import os
import stat
import subprocess
import tempfile
import unittest

import harness
import test_syslog

CONFIG = """@version: 3.38
options { time-reopen(1); use-dns(no); dns-cache(no); chain-hostnames(no); stats-freq(0);
          log-msg-size(65536); };
source s_devlog { unix-dgram("/dev/log" perm(0666)); };
filter f_postgres { program("^postgres$"); };
destination d_agent { %(driver)s("127.0.0.1" port(%(port)d) transport("tcp")); };
log { source(s_devlog); filter(f_postgres); destination(d_agent); };
"""


def fetch():
    """The syslog-ng binary, unpacked into the cache on first use."""
    script = os.path.join(harness.SOURCE_DIR, "scripts", "fetch-syslog-ng.sh")
    result = subprocess.run([script], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("%s failed: %s" % (script, result.stderr.strip()))
    return result.stdout.strip()


class SyslogNg:
    """syslog-ng in the foreground with a private config, persist file and control socket:
    /dev/log in, the agent's listener out through `driver` (network or syslog)."""

    def __init__(self, binary, port, driver):
        root = os.path.dirname(os.path.dirname(os.path.dirname(binary)))  # …/usr/sbin/syslog-ng
        self.dir = tempfile.mkdtemp(prefix="pgvigil-syslog-ng-")
        conf = os.path.join(self.dir, "syslog-ng.conf")
        with open(conf, "w") as f:
            f.write(CONFIG % {"driver": driver, "port": port})
        env = dict(os.environ, LD_LIBRARY_PATH=":".join(
            [os.path.join(root, "usr", "lib", "syslog-ng")] +
            glob.glob(os.path.join(root, "usr", "lib", "*-linux-*"))))
        self.log_path = os.path.join(self.dir, "syslog-ng.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [binary, "--module-path=" + os.path.join(root, "usr", "lib", "syslog-ng", "3.38"),
                 "--foreground", "--stderr", "--no-caps", "--cfgfile", conf,
                 "--persist-file", os.path.join(self.dir, "syslog-ng.persist"),
                 "--control", os.path.join(self.dir, "syslog-ng.ctl"),
                 "--pidfile", os.path.join(self.dir, "syslog-ng.pid")],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            harness.wait_for(lambda: self.process.poll() is not None or (
                os.path.exists("/dev/log") and stat.S_ISSOCK(os.stat("/dev/log").st_mode)), 10,
                what="syslog-ng's /dev/log")
            if self.process.poll() is not None:
                raise AssertionError("syslog-ng exited: %s" % self.log())
        except BaseException:
            self.stop()
            raise

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        test_syslog.stop_daemon(self.process, self.dir)


@unittest.skipUnless(test_syslog.ALL_MAJORS and not test_syslog.SANITIZED,
                     "the forwarder is the same on every major and in every build")
class SyslogNgTest(test_syslog.SyslogForwarding, unittest.TestCase):
    FORWARDER = "syslog-ng"

    @classmethod
    def setUpClass(cls):
        cls.binary = fetch()

    def forwarder(self, port, framing, tls_ca, protocol):
        self.assertIsNone(tls_ca)
        self.assertEqual(protocol, "tcp")
        return SyslogNg(self.binary, port, framing)

    def measure(self, *args, **kwargs):
        result = super().measure(*args, **kwargs)
        # Every frame syslog-ng sent was framed and parsed; none was another program's.
        samples = self.agent.metrics()
        received = {outcome: harness.sample(samples, "pgvigil_log_receiver_messages_total",
                                            outcome=outcome)
                    for outcome in ("routed", "unmatched", "malformed", "oversized")}
        lines = {outcome: harness.sample(samples, "pgvigil_log_lines_total", source="syslog",
                                         outcome=outcome)
                 for outcome in ("parsed", "unparsed", "dropped")}
        print("listener %s, lines %s" % (received, lines))
        self.assertGreater(received["routed"], 0)
        self.assertEqual((received["unmatched"] or 0, received["malformed"] or 0,
                          received["oversized"] or 0), (0, 0, 0))
        self.assertEqual((lines["unparsed"], lines["dropped"]), (0, 0))
        return result

    def test_network_driver_rfc3164_newline_framing(self):
        # %e in the prefix carries the SQLSTATE.
        self.measure("heroku", test_syslog.PRESETS["heroku"], framing="network")

    def test_syslog_driver_rfc5424_octet_counted(self):
        # The verbose form (ERROR:  23505: …) carries the SQLSTATE.
        self.measure("debian", test_syslog.PRESETS["debian"], verbosity="verbose",
                     framing="syslog")


if __name__ == "__main__":
    unittest.main()
