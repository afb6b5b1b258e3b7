"""Shared helpers for pgvigil's end-to-end tests: the built binary against the throwaway
PostgreSQL server that scripts/test.sh starts (PGVIGIL_TEST_* variables)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BINARY = os.environ.get("PGVIGIL_BINARY", "")
SOURCE_DIR = os.environ.get("PGVIGIL_SOURCE_DIR", "")
HOST = os.environ.get("PGVIGIL_TEST_HOST", "")
PORT = os.environ.get("PGVIGIL_TEST_PORT", "")
PGDATA = os.environ.get("PGVIGIL_TEST_PGDATA", "")
PGBIN = os.environ.get("PGVIGIL_TEST_PGBIN", "")
PGLOG = os.environ.get("PGVIGIL_TEST_PGLOG", "")

MONITOR_PASSWORD = "monitor-pw"


def require_environment(test):
    missing = [name for name, value in [("PGVIGIL_BINARY", BINARY), ("PGVIGIL_TEST_PORT", PORT),
                                        ("PGVIGIL_TEST_PGDATA", PGDATA)] if not value]
    if missing:
        test.fail("not set: %s; run scripts/test.sh" % ", ".join(missing))


def dsn(user="monitor", password=MONITOR_PASSWORD, dbname="postgres"):
    return "postgresql://%s:%s@%s:%s/%s" % (user, password, HOST, PORT, dbname)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_certificate(prefix):
    """A throwaway certificate and key for localhost, next to the binary: (cert, key)."""
    directory = os.path.dirname(BINARY)
    cert = os.path.join(directory, prefix + ".crt")
    key = os.path.join(directory, prefix + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def as_postgres(args, **kwargs):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, check=True, capture_output=True, text=True, **kwargs)


def psql(sql, user="postgres", password="postgres-pw", dbname="postgres"):
    """Runs SQL over TCP and returns the unaligned, tuples-only output."""
    env = dict(os.environ, PGPASSWORD=password)
    out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", PORT,
                          "-U", user, "-d", dbname, "-c", sql],
                         check=True, capture_output=True, text=True, env=env, timeout=30)
    return out.stdout.strip()


def terminate_backends(user="it_user"):
    """Ends every client backend of `user` and waits until they are gone: a test's sessions
    (a query still sleeping after its PgBouncer was stopped, a pooled server connection) must
    not count in the next test's connections or, flushed late, in its transaction counters."""
    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '%s' "
         "AND pid <> pg_backend_pid()" % user)
    wait_for(lambda: psql("SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'" % user)
             == "0", 15, what="the backends of %s to end" % user)


def postmaster_pid():
    with open(os.path.join(PGDATA, "postmaster.pid")) as f:
        return int(f.readline())


def server_pids():
    """The postmaster and all of its children."""
    main = postmaster_pid()
    out = subprocess.run(["pgrep", "-P", str(main)], capture_output=True, text=True)
    return [main] + [int(p) for p in out.stdout.split()]


def stop_server():
    as_postgres([os.path.join(PGBIN, "pg_ctl"), "-D", PGDATA, "-m", "fast", "-w", "stop"])


def start_server():
    as_postgres([os.path.join(PGBIN, "pg_ctl"), "-D", PGDATA, "-l", PGLOG, "-w", "-t", "60",
                 "start"])


def _signal_server(sig):
    for pid in server_pids():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass  # a backend that exited meanwhile


def freeze_server():
    _signal_server(signal.SIGSTOP)


def thaw_server():
    _signal_server(signal.SIGCONT)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def wait_for(predicate, timeout, interval=0.2, what="condition"):
    """Polls until predicate() is truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of the exposition's samples."""
    samples = {}
    pattern = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = pattern.match(line)
        if not m:
            raise AssertionError("unparsable exposition line: %r" % line)
        labels = frozenset(label.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def sample(samples, name, **labels):
    """The value of the one sample of `name` whose labels include `labels`, else None."""
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= set(ls)]
    if len(found) > 1:
        raise AssertionError("%d samples of %s match %r" % (len(found), name, labels))
    return found[0] if found else None


class Agent:
    """The pgvigil binary running with a config file written by the test."""

    def __init__(self, config_text, extra_args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="pgvigil-e2e-")
        self.config_path = os.path.join(self.dir, "pgvigil.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "agent.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [BINARY, "--config.file=" + self.config_path,
             "--web.listen-address=127.0.0.1:%d" % self.port] + list(extra_args),
            stdout=self.log, stderr=subprocess.STDOUT, env=env or os.environ.copy())
        wait_for(lambda: self._answers(), 10, what="the agent to listen")

    def _answers(self):
        if self.process.poll() is not None:
            raise AssertionError("agent exited with %s:\n%s" % (self.process.returncode,
                                                                 self.logs()))
        try:
            # 401: listening behind basic auth.
            return self.get("/health/live").status in (200, 401)
        except OSError:
            return False

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, path, method="GET", headers=None, timeout=5):
        req = urllib.request.Request(self.url(path), method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, dict(r.headers), r.read().decode())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read().decode())

    def get(self, path, timeout=5):
        return self.request(path, timeout=timeout)

    def metrics(self):
        r = self.get("/metrics")
        assert r.status == 200, r.status
        return parse_metrics(r.body)

    def health(self, target=None):
        return self.get("/health" + ("?target=" + target if target else ""))

    def wait_for_error_window(self, target=None, timeout=10):
        """Waits until the first target's statements and log collectors are both past their first
        interval together. The first statements delta (up to one and a half intervals long with
        the collectors' phases) began before the log was followed and is left out of the error
        window; work started after this returns falls into deltas the window counts."""
        wait_for(lambda: self.health(target).json()["targets"][0]["errors"]
                 ["application_errors"] is not None, timeout,
                 what="a first statements interval the log covers")

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def rewrite_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def send(self, sig):
        self.process.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits; returns (exit code, seconds it took)."""
        if self.process.poll() is not None:
            return self.process.returncode, 0.0
        start = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return code, time.monotonic() - start

    def close(self):
        self.stop(signal.SIGKILL)
        self.log.close()


def config(targets, defaults=None, extra=""):
    """A config file's text: targets is a list of (name, dsn[, extra target lines])."""
    lines = ["defaults:"]
    settings = {"probe_interval": "1s", "activity_interval": "1s", "settings_interval": "5s",
                "connect_probe_interval": "2s", "connect_timeout": "2s", "query_timeout": "1s"}
    settings.update(defaults or {})
    lines += ["  %s: %s" % item for item in settings.items()]
    lines.append("targets:")
    for target in targets:
        lines.append("  - name: %s" % target[0])
        lines.append("    dsn: \"%s\"" % target[1])
        for extra_line in target[2:]:
            lines.append("    " + extra_line)
    return "\n".join(lines) + "\n" + extra


class Sessions:
    """Idle client sessions held open by psql processes, to fill connection slots."""

    def __init__(self):
        self.processes = []

    def open(self, count, user="it_user", password="it-pw", dbname="pgvigil_it"):
        env = dict(os.environ, PGPASSWORD=password)
        for _ in range(count):
            self.processes.append(subprocess.Popen(
                ["psql", "-X", "-q", "-h", HOST, "-p", PORT, "-U", user, "-d", dbname],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=env))

    def close(self):
        for p in self.processes:
            p.kill()
            p.wait()
            p.stdin.close()
        self.processes = []


class Pool:
    """An application's connection pool: persistent psql sessions (real libpq clients) that
    validate the connection with SELECT 1 before each request and wrap its work in a
    transaction, as node-postgres, Prisma and Lambda setups do."""

    def __init__(self, size, user, password, dbname, application="booking"):
        env = dict(os.environ, PGPASSWORD=password, PGAPPNAME=application)
        self.sessions = [subprocess.Popen(
            ["psql", "-X", "-q", "-h", HOST, "-p", PORT, "-U", user, "-d",
             dbname], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, text=True) for _ in range(size)]
        self.sent = 0

    def request(self, work):
        self.send("SELECT 1;\nBEGIN;\n%s\nCOMMIT;\n" % work)

    def send(self, script):
        """One request's statements as they are, on the next session (round robin)."""
        session = self.sessions[self.sent % len(self.sessions)]
        self.sent += 1
        session.stdin.write(script)
        session.stdin.flush()

    def close(self):
        """Waits until every request was executed."""
        for session in self.sessions:
            session.stdin.close()
        for session in self.sessions:
            session.wait(timeout=120)


class PgBouncer:
    """A PgBouncer in transaction mode in front of the test server, run as the postgres user on a
    free port: pgvigil_it pooled with pool_size `pool_size` and a reserve of `reserve_pool_size`,
    postgres with the default pool size, an admin account pgb_admin and a stats_users account
    pgb_stats. The binary is Debian's (1.18), or PGVIGIL_TEST_PGBOUNCER's (scripts/test.sh runs
    the PgBouncer tests again with 1.24, built by scripts/fetch-pgbouncer.sh)."""

    ADMIN = ("pgb_admin", "admin-pw")
    STATS = ("pgb_stats", "stats-pw")
    BINARY = os.environ.get("PGVIGIL_TEST_PGBOUNCER") or "pgbouncer"

    def __init__(self, pool_size=5, max_client_conn=50, reserve_pool_size=0):
        self.dir = tempfile.mkdtemp(prefix="pgvigil-pgbouncer-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.config_path = os.path.join(self.dir, "pgbouncer.ini")
        with open(os.path.join(self.dir, "userlist.txt"), "w") as f:
            for user, password in (("it_user", "it-pw"), self.ADMIN, self.STATS):
                f.write('"%s" "%s"\n' % (user, password))
        with open(self.config_path, "w") as f:
            f.write("[databases]\n"
                    "pgvigil_it = host=%s port=%s dbname=pgvigil_it pool_size=%d\n"
                    "postgres = host=%s port=%s dbname=postgres\n"
                    "[pgbouncer]\n"
                    "listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
                    "auth_type = scram-sha-256\nauth_file = %s/userlist.txt\n"
                    "admin_users = %s\nstats_users = %s\n"
                    "pool_mode = transaction\nmax_client_conn = %d\n"
                    "default_pool_size = %d\nreserve_pool_size = %d\n"
                    "logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n"
                    % (HOST, PORT, pool_size, HOST, PORT, self.port, self.dir, self.ADMIN[0],
                       self.STATS[0],
                       max_client_conn, pool_size, reserve_pool_size, self.dir, self.dir))
        for name in os.listdir(self.dir):
            os.chmod(os.path.join(self.dir, name), 0o644)
        if os.geteuid() == 0:  # it runs as postgres and writes its log and pid file here
            shutil.chown(self.dir, "postgres")
        self.process = None
        self.start()

    def start(self):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(prefix + [self.BINARY, self.config_path],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            if self.process.poll() is not None:
                raise AssertionError("pgbouncer exited with %s" % self.process.returncode)
            return self._listening()
        wait_for(listening, 10, what="pgbouncer to listen")

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        """Shuts PgBouncer down with SIGTERM, to its own pid (runuser does not pass signals on):
        an immediate shutdown before 1.23; from 1.23 it first waits for every client to leave,
        the agent's console sessions included."""
        pidfile = os.path.join(self.dir, "pgbouncer.pid")
        pid = None
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        if self.process:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                if pid:  # still waiting for a client: end it, and say so
                    os.kill(pid, signal.SIGKILL)
                self.process.wait()
                raise AssertionError("pgbouncer did not exit within 10 s of SIGTERM")
        wait_for(lambda: not self._listening(), 10, what="pgbouncer to stop listening")

    def dsn(self, account=None):
        user, password = account or self.ADMIN
        return "host=127.0.0.1 port=%d dbname=pgbouncer user=%s password=%s" % (
            self.port, user, password)

    def show(self, command, account=None):
        """Rows of a SHOW command on the admin console, as dicts."""
        user, password = account or self.ADMIN
        env = dict(os.environ, PGPASSWORD=password)
        out = subprocess.run(["psql", "-X", "-A", "-F", "\t", "-P", "footer=off", "-h",
                              "127.0.0.1", "-p", str(self.port), "-U", user, "-d", "pgbouncer",
                              "-c", command], check=True, capture_output=True, text=True,
                             env=env, timeout=10).stdout.splitlines()
        header = out[0].split("\t")
        return [dict(zip(header, line.split("\t"))) for line in out[1:]]

    def client(self, sql, dbname="pgvigil_it"):
        """A client through the pooler running `sql` (one simple query), left running."""
        env = dict(os.environ, PGPASSWORD="it-pw")
        return subprocess.Popen(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                                 "-U", "it_user", "-d", dbname, "-c", sql],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def close(self):
        self.stop()
