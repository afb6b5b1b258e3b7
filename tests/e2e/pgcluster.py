"""Throwaway PostgreSQL servers of the major under test, owned by one test: a primary with the
settings a scenario needs, and streaming standbys made from it. The npm server packages hold
initdb, pg_ctl and postgres only (no pg_basebackup), so a standby is a cold copy: the primary is
stopped, its data directory copied (without its replication slots), standby.signal and
primary_conninfo written, and both started."""

import os
import shutil
import subprocess
import tempfile
import time

from harness import PGBIN, as_postgres, free_port, wait_for

MONITOR_PASSWORD = "monitor-pw"


class Server:
    """One server in a temp directory, run as the postgres user on a free loopback port.
    Roles: postgres (trust on the socket), monitor (pg_monitor, password monitor-pw)."""

    def __init__(self, conf=(), root=None, port=None):
        self.root = root or tempfile.mkdtemp(prefix="pgvigil-cluster.")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.socket = os.path.join(self.root, "socket")
        self.log = os.path.join(self.root, "server.log")
        self.port = port or free_port()
        self._extra_conf = list(conf)
        os.makedirs(self.socket, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket, "postgres", "postgres")

    @classmethod
    def primary(cls, conf=()):
        """A new cluster, started, with the monitor role."""
        server = cls(conf)
        as_postgres([os.path.join(PGBIN, "initdb"), "-D", server.data, "-U", "postgres",
                     "--auth=trust", "--no-sync"])
        server._write_conf(server._extra_conf)
        server.start()
        server.sql("CREATE ROLE monitor LOGIN PASSWORD '%s' IN ROLE pg_monitor" % MONITOR_PASSWORD)
        return server

    def standby(self, slot=None, conf=()):
        """A streaming standby of this primary (stopped and started again for the copy), using
        the physical slot `slot` (created here) when given."""
        self.stop()
        server = Server(conf)
        as_postgres(["cp", "-a", self.data, server.data])
        for name in ("postmaster.pid", "postmaster.opts"):
            path = os.path.join(server.data, name)
            if os.path.exists(path):
                os.unlink(path)
        # A slot copied with the files would hold WAL on the standby for nobody.
        as_postgres(["find", os.path.join(server.data, "pg_replslot"), "-mindepth", "1",
                     "-delete"])
        lines = ["port = %d" % server.port, "unix_socket_directories = '%s'" % server.socket,
                 "primary_conninfo = 'host=127.0.0.1 port=%d user=postgres "
                 "application_name=standby1'" % self.port]
        if slot:
            lines.append("primary_slot_name = '%s'" % slot)
        server._write_conf(lines + list(conf), fresh=False)
        as_postgres(["touch", os.path.join(server.data, "standby.signal")])
        self.start()
        if slot:
            self.sql("SELECT pg_create_physical_replication_slot('%s', true)" % slot)
        server.start()
        return server

    def _write_conf(self, lines, fresh=True):
        base = ["listen_addresses = '127.0.0.1'", "port = %d" % self.port,
                "unix_socket_directories = '%s'" % self.socket, "fsync = off",
                "max_connections = 30"] if fresh else []
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            for line in base + list(lines):
                f.write(line + "\n")

    def start(self):
        as_postgres([os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t",
                     "60", "start"])

    def stop(self, mode="fast"):
        subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
                       + [os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t",
                          "60", "stop"], capture_output=True)

    def sql(self, sql, dbname="postgres"):
        """Runs SQL as postgres over the socket; the unaligned, tuples-only output."""
        out = as_postgres(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.socket, "-p",
                           str(self.port), "-U", "postgres", "-d", dbname, "-c", sql],
                          timeout=60)
        return out.stdout.strip()

    def dsn(self, user="monitor", password=MONITOR_PASSWORD, dbname="postgres"):
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (user, password, self.port, dbname)

    def wait_streaming(self, primary, timeout=30):
        """Waits until this standby streams from `primary` and has replayed all it was sent."""
        wait_for(lambda: self.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming",
                 timeout, what="the standby to stream")
        target = primary.sql("SELECT pg_current_wal_lsn()")
        wait_for(lambda: self.sql("SELECT pg_last_wal_replay_lsn() >= '%s'" % target) == "t",
                 timeout, what="the standby to replay up to %s" % target)

    def close(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def poll(function, timeout=30, interval=0.5):
    """Calls `function` until it returns something other than None; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = function()
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(interval)
