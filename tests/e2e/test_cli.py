"""The command line: --version, --check-config, --once, zero-config mode and exit codes."""

import json
import os
import subprocess
import tempfile
import unittest

import harness


def run(args, env=None, timeout=60):
    return subprocess.run([harness.BINARY] + args, capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=timeout)


def write(text):
    fd, path = tempfile.mkstemp(suffix=".yaml", prefix="pgvigil-cli-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class CliTest(unittest.TestCase):
    def setUp(self):
        harness.require_environment(self)

    def test_version(self):
        r = run(["--version"])
        self.assertEqual(r.returncode, 0)
        # The Prometheus tools' form, with the revision the source was built from.
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^pgvigil, version \d+\.\d+\.\d+ \(branch: \S+, "
                                   r"revision: [0-9a-f]{7,40}\)$")
        self.assertEqual([line.split(":")[0].strip() for line in lines[1:]],
                         ["build date", "compiler", "platform"])
        git = subprocess.run(["git", "-C", harness.SOURCE_DIR, "rev-parse", "HEAD"],
                             capture_output=True, text=True)
        if git.returncode == 0:
            revision = lines[0].split("revision: ")[1].rstrip(")")
            self.assertTrue(git.stdout.startswith(revision), (revision, git.stdout))

    def test_log_format_logfmt_keeps_libpq_errors_on_one_line(self):
        path = write(harness.config([("down", "host=127.0.0.1 port=1 user=monitor")]))
        for flag in ("--log.format=logfmt", "--log.format=text"):
            with self.subTest(flag):
                r = run(["--config.file=" + path, "--once", flag])
                self.assertEqual(r.returncode, 1)
                lines = r.stderr.splitlines()
                self.assertTrue(lines)
                for line in lines:
                    self.assertRegex(line, r"^ts=\S+ level=\w+ msg=")
                # libpq's "Is the server running…" line is part of its record.
                self.assertTrue(any("Connection refused\\n" in line for line in lines), lines)
        r = run(["--config.file=" + path, "--once", "--log.format=json"])
        for line in r.stderr.splitlines():
            self.assertIn("msg", json.loads(line))
        self.assertEqual(run(["--log.format=plain", "--check-config"]).returncode, 2)

    def test_web_config_file_flag(self):
        missing = run(["--web.config.file=/nonexistent/web.yml", "--check-config"])
        self.assertEqual(missing.returncode, 2)
        self.assertIn("/nonexistent/web.yml", missing.stderr)
        bad_hash = write("basic_auth_users:\n  prometheus: 'not-a-bcrypt-hash'\n")
        r = run(["--web.config.file=" + bad_hash, "--check-config"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad_hash, r.stderr)

    def test_check_config_prints_numbers_as_written(self):
        path = write(harness.config([("a", harness.dsn())]) +
                     "health:\n  connection_usage: {warn: 0.7, critical: 0.9}\n")
        r = run(["--config.file=" + path, "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("connection_usage: {warn: 0.7, critical: 0.9}", r.stdout)
        self.assertNotIn("0.69999", r.stdout)

    def test_unknown_flag_is_a_usage_error(self):
        r = run(["--no-such-flag"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("no-such-flag", r.stderr)
        self.assertEqual(run(["--log.level=loud", "--check-config"]).returncode, 2)

    def test_check_config_prints_effective_config_without_secrets(self):
        secret_file = write("file-secret-1234\n")
        path = write(harness.config([
            ("primary", harness.dsn(password="dsn-secret-5678"), "password_file: " + secret_file,
             "labels: {cluster: main}")]))
        r = run(["--config.file=" + path, "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("name: primary", r.stdout)
        self.assertIn("probe_interval: 1s", r.stdout)
        self.assertIn("cluster: main", r.stdout)
        self.assertIn("REDACTED", r.stdout)
        for secret in ("dsn-secret-5678", "file-secret-1234"):
            self.assertNotIn(secret, r.stdout + r.stderr)

    def test_bad_configs_exit_2_naming_file_line_and_key(self):
        cases = {
            "unknown key": ("targets:\n  - name: a\n    dsn: \"host=x\"\n    probe_intervall: 5s\n",
                            ":4: targets[0].probe_intervall: unknown key"),
            "bad duration": ("defaults:\n  probe_interval: fast\ntargets:\n  - name: a\n",
                             ":2: defaults.probe_interval: expected a duration"),
            "malformed": ("targets: [\n", "malformed YAML"),
            "duplicate": ("targets:\n  - name: a\n  - name: a\n", "duplicate target name"),
            "unknown collector": ("defaults:\n  collectors: {bogus: true}\ntargets:\n  - name: a\n",
                                  "defaults.collectors.bogus: unknown key"),
        }
        for name, (text, message) in cases.items():
            with self.subTest(name):
                path = write(text)
                r = run(["--config.file=" + path, "--check-config"])
                self.assertEqual(r.returncode, 2, r.stdout)
                self.assertIn(path, r.stderr)
                self.assertIn(message, r.stderr)
        r = run(["--config.file=/nonexistent/pgvigil.yaml"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/pgvigil.yaml: cannot open config file", r.stderr)

    def test_once_prints_metrics_and_exits_0_when_reachable(self):
        env = dict(os.environ, PGVIGIL_DSN=harness.dsn())
        r = run(["--once"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        samples = harness.parse_metrics(r.stdout)
        self.assertEqual(harness.sample(samples, "pg_up", target="default"), 1)
        self.assertGreaterEqual(harness.sample(samples, "pg_connections_used", target="default"), 1)

    def test_once_exits_1_when_a_target_is_unreachable(self):
        path = write(harness.config([("good", harness.dsn()),
                                     ("bad", "host=127.0.0.1 port=1 user=monitor")]))
        r = run(["--config.file=" + path, "--once"])
        self.assertEqual(r.returncode, 1)
        samples = harness.parse_metrics(r.stdout)
        self.assertEqual(harness.sample(samples, "pg_up", target="good"), 1)
        self.assertEqual(harness.sample(samples, "pg_up", target="bad"), 0)

    def test_zero_config_uses_libpq_environment_like_psql(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PGVIGIL_DSN")}
        env.update(PGHOST=harness.HOST, PGPORT=harness.PORT, PGUSER="monitor",
                   PGPASSWORD=harness.MONITOR_PASSWORD, PGDATABASE="postgres")
        r = run(["--once"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        samples = harness.parse_metrics(r.stdout)
        self.assertEqual(harness.sample(samples, "pg_up", target="default"), 1)
        self.assertNotIn(harness.MONITOR_PASSWORD, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
