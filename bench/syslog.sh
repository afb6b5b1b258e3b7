#!/usr/bin/env bash
# pgvigil's syslog listener against Debian's rsyslogd receiving the same stream: PostgreSQL's
# syslog output (RFC 5424, the Debian log_line_prefix, a "duration: ... statement: ..." line per
# statement and one error in 1,000 lines as ERROR, DETAIL and STATEMENT chunks) over TCP, at
# each RATE (lines per second) with octet-counted then newline framing (RFC 6587), SECONDS each.
# A sender (bench/syslog_sender.c, built here with cc) per receiver paces the lines every
# millisecond; both senders run at once. Prints one table per phase side by side.
#
# pgvigil: one target whose log comes over syslog (line_prefix: debian), its database a closed
# port (the log collector runs while the database is down; no heartbeat), at the default
# probe_interval of 5 s unless PROBE_INTERVAL says otherwise: the collector drains the target's
# inbox that often. Counted: pgvigil_log_lines_total and pg_log_messages_total from /metrics.
# rsyslogd: its own process and private configuration (rsyslogd -n -f CONF -i PIDFILE; never
# /dev/log), imtcp on another port, every message written to /dev/null by omfile; counted by
# impstats (once a second, to a file).
#
# CPU: utime + stime from /proc/PID/stat, from the start of a phase until the receiver has
# counted its last line, over the seconds of sending (% of one core). RSS: /proc/PID/status at
# the start and end of each phase, and sampled every second (peak, min, max).
#   bench/syslog.sh [SECONDS] [RATE ...]          (default: 20 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
rates=("$@")
[[ ${#rates[@]} -gt 0 ]] || rates=(10000 100000)
probe_interval=${PROBE_INTERVAL:-5s}

source bench/lib-bench.sh
work=$(mktemp -d /tmp/pgvigil-syslog.XXXXXX)
bench_dirs+=("$work")
cc -O2 -Wall -o "$work/syslog_sender" bench/syslog_sender.c

agent_port=$(free_port)
listen_port=$(free_port)
rsyslog_port=$(free_port)
closed_port=$(free_port)
cat >"$work/pgvigil.yaml" <<YAML
defaults:
  probe_interval: $probe_interval
targets:
  - name: bench
    dsn: "postgresql://monitor:bench-pw@127.0.0.1:$closed_port/postgres?connect_timeout=2"
    collectors: {log: true}
    log_source:
      syslog: {listen: "127.0.0.1:$listen_port"}
      line_prefix: debian
      heartbeat: false
YAML
cat >"$work/rsyslog.conf" <<CONF
global(workDirectory="$work")
module(load="impstats" interval="1" log.syslog="off" log.file="$work/rsyslog-stats"
       format="json")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$rsyslog_port" ruleset="bench")
ruleset(name="bench") {
  action(type="omfile" file="/dev/null")
}
CONF
build/pgvigil --config.file="$work/pgvigil.yaml" --web.listen-address="127.0.0.1:$agent_port" \
  --log.level=error &
bench_pids+=($!)
agent_pid=$!
rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslog.pid" >"$work/rsyslogd.log" 2>&1 &
bench_pids+=($!)
rsyslog_pid=$!

rsyslog_version=$(rsyslogd -v | head -n 1 | sed 's/ *compiled with://')
echo "$(build/pgvigil --version 2>&1 | head -n 1); $rsyslog_version; $(nproc) cores;" \
  "${seconds} s per phase; pgvigil probe_interval ${probe_interval}"
python3 - "$work" "$agent_pid" "$agent_port" "$listen_port" "$rsyslog_pid" "$rsyslog_port" \
  "$seconds" "${rates[@]}" <<'PY'
import http.client, json, os, re, socket, subprocess, sys, threading, time

work = sys.argv[1]
agent_pid, agent_port, listen_port, rsyslog_pid, rsyslog_port, seconds = map(int, sys.argv[2:8])
rates = [int(r) for r in sys.argv[8:]]
sender = os.path.join(work, "syslog_sender")
pids = {"pgvigil": agent_pid, "rsyslogd": rsyslog_pid}
MB = 1048576


def cpu(pid):
    return cpu_of("/proc/%d/stat" % pid)


def memory(pid, key="VmRSS"):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def thread_cpu(pid, tid):
    try:
        return cpu_of("/proc/%d/task/%d/stat" % (pid, tid))
    except OSError:
        return 0.0


def cpu_of(path):
    fields = open(path).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listener_thread(pid):
    """pgvigil's syslog listener: its only thread that sleeps in poll (the web server's sleeps in
    accept, the target's worker on a condition variable)."""
    found = []
    for tid in os.listdir("/proc/%d/task" % pid):
        if "poll" in open("/proc/%d/task/%s/wchan" % (pid, tid)).read():
            found.append(int(tid))
    return found[0] if len(found) == 1 else None


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def wait_port(port):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("nothing listens on %d" % port)


def pgvigil_counts():
    conn = http.client.HTTPConnection("127.0.0.1", agent_port, timeout=30)
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    counts = {"parsed": 0.0, "unparsed": 0.0, "dropped": 0.0, "errors": 0.0, "routed": 0.0}
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        value = float(line.rsplit(" ", 1)[1])
        if line.startswith("pgvigil_log_lines_total{"):
            outcome = re.search(r'outcome="([^"]*)"', line).group(1)
            counts[outcome] = counts.get(outcome, 0.0) + value
        elif line.startswith("pg_log_messages_total{") and 'severity="ERROR"' in line:
            counts["errors"] += value
        elif line.startswith("pgvigil_log_receiver_messages_total{") and \
                'outcome="routed"' in line:
            counts["routed"] += value
    return counts


def rsyslog_counts():
    """The newest impstats figures: messages imtcp submitted and the omfile action processed."""
    counts = {"submitted": 0, "processed": 0}
    try:
        lines = open(os.path.join(work, "rsyslog-stats")).read().splitlines()[-40:]
    except FileNotFoundError:
        return counts
    for line in lines:
        record = json.loads(line[line.index("{"):])
        if record.get("origin") == "imtcp":
            counts["submitted"] = record["submitted"]
        elif record.get("origin") == "core.action":
            counts["processed"] = record["processed"]
    return counts


samples = []  # (monotonic time, pgvigil RSS, rsyslogd RSS), every second
stop = threading.Event()


def sample():
    while not stop.is_set():
        try:
            samples.append((time.monotonic(), memory(agent_pid), memory(rsyslog_pid)))
        except OSError:
            return  # a receiver is gone: the phase reports it
        stop.wait(1)


wait_port(agent_port)
wait_port(listen_port)
wait_port(rsyslog_port)
time.sleep(2)
listener_tid = listener_thread(agent_pid)
threading.Thread(target=sample, daemon=True).start()
idle_before = {name: cpu(pid) for name, pid in pids.items()}
time.sleep(5)
idle = {name: (cpu(pid) - idle_before[name]) / 5 * 100 for name, pid in pids.items()}
print("idle (5 s): pgvigil %.2f%%, rsyslogd %.2f%% of one core; RSS pgvigil %.1f MB, "
      "rsyslogd %.1f MB; load average %s"
      % (idle["pgvigil"], idle["rsyslogd"], memory(agent_pid) / MB, memory(rsyslog_pid) / MB,
         loadavg()))

failures = []
for rate in rates:
    for framing in ("octet", "newline"):
        before_v, before_r = pgvigil_counts(), rsyslog_counts()
        load_start = loadavg()
        start = time.monotonic()
        cpu0 = {name: cpu(pid) for name, pid in pids.items()}
        listener0 = thread_cpu(agent_pid, listener_tid) if listener_tid else 0.0
        rss0 = {name: memory(pid) for name, pid in pids.items()}
        procs = {name: subprocess.Popen([sender, "127.0.0.1", str(port), str(rate), str(seconds),
                                         framing], stdout=subprocess.PIPE, text=True)
                 for name, port in (("pgvigil", listen_port), ("rsyslogd", rsyslog_port))}
        sent = {}
        for name, proc in procs.items():
            out, _ = proc.communicate()
            if proc.returncode != 0:
                gone = [n for n, pid in pids.items() if not os.path.exists("/proc/%d" % pid)]
                raise SystemExit("the sender to %s failed; %s; rsyslogd said: %s" % (
                    name, "gone: " + ", ".join(gone) if gone else "both still run",
                    open(os.path.join(work, "rsyslogd.log")).read()[-2000:]))
            sent[name] = json.loads(out)
        load_end = loadavg()
        # Until each has counted every line (or a deadline), reading its CPU as it finishes.
        done, counted, cpu1, rss1, end = {}, {}, {}, {}, {}
        deadline = time.monotonic() + 60
        while len(done) < 2 and time.monotonic() < deadline:
            if "pgvigil" not in done:
                now_v = pgvigil_counts()
                got = {k: now_v[k] - before_v.get(k, 0) for k in now_v}
                if got["parsed"] + got["unparsed"] + got["dropped"] >= sent["pgvigil"]["lines"]:
                    done["pgvigil"] = got
            if "rsyslogd" not in done:
                now_r = rsyslog_counts()
                got = {k: now_r[k] - before_r[k] for k in now_r}
                if got["processed"] >= sent["rsyslogd"]["lines"]:
                    done["rsyslogd"] = got
            for name in done:
                if name not in cpu1:
                    cpu1[name] = cpu(pids[name])
                    if name == "pgvigil" and listener_tid:
                        listener1 = thread_cpu(agent_pid, listener_tid)
                    rss1[name] = memory(pids[name])
                    end[name] = time.monotonic()
            time.sleep(0.25)
        for name, pid in pids.items():
            if name == "pgvigil" and name not in done and listener_tid:
                listener1 = thread_cpu(agent_pid, listener_tid)
            if name not in done:
                failures.append("%s did not count every line of %d/s %s" % (name, rate, framing))
                done[name] = (pgvigil_counts if name == "pgvigil" else rsyslog_counts)()
                cpu1[name], rss1[name], end[name] = cpu(pid), memory(pid), time.monotonic()

        print("\n%d lines/s, %s framing, %d s; load average %s at the start, %s at the end"
              % (rate, "octet-counted" if framing == "octet" else "newline", seconds, load_start,
                 load_end))
        print("%-46s %18s %18s" % ("", "pgvigil", "rsyslogd"))
        row = lambda label, a, b: print("%-46s %18s %18s" % (label, a, b))
        row("sent: lines (ERROR lines), MB",
            *("%d (%d), %.1f" % (s["lines"], s["errors"], s["bytes"] / MB)
              for s in (sent["pgvigil"], sent["rsyslogd"])))
        row("achieved rate (lines/s); sender's worst lag (s)",
            *("%.0f; %.3f" % (s["rate"], s["max_lag_s"]) for s in (sent["pgvigil"],
                                                                 sent["rsyslogd"])))
        v, r = done["pgvigil"], done["rsyslogd"]
        row("lines counted", "%d parsed" % v["parsed"], "%d written" % r["processed"])
        row("  of which not counted: unparsed, dropped", "%d, %d" % (v["unparsed"], v["dropped"]),
            "-")
        row("ERROR lines counted", "%d" % v["errors"], "-")
        row("seconds until the last line was counted",
            *("%.1f" % (end[n] - start) for n in ("pgvigil", "rsyslogd")))
        row("CPU (% of one core)",
            *("%.1f" % ((cpu1[n] - cpu0[n]) / sent[n]["seconds"] * 100)
              for n in ("pgvigil", "rsyslogd")))
        if listener_tid:
            row("  of which the listener thread",
                "%.1f" % ((listener1 - listener0) / sent["pgvigil"]["seconds"] * 100), "-")
        in_phase = [s for s in samples if start <= s[0] <= max(end.values())]
        peak = {n: max([s[c] for s in in_phase] + [rss0[n], rss1[n]])
                for n, c in (("pgvigil", 1), ("rsyslogd", 2))}
        row("RSS start / peak / end (MB)",
            *("%.1f / %.1f / %.1f" % (rss0[n] / MB, peak[n] / MB, rss1[n] / MB)
              for n in ("pgvigil", "rsyslogd")))
        row("RSS every second: min / max (MB, %d samples)" % len(in_phase),
            *("%.1f / %.1f" % (min(s[c] for s in in_phase) / MB, max(s[c] for s in in_phase) / MB)
              for c in (1, 2)))
        if v["parsed"] != sent["pgvigil"]["lines"]:
            failures.append("pgvigil parsed %d of %d lines at %d/s %s"
                            % (v["parsed"], sent["pgvigil"]["lines"], rate, framing))
        if v["errors"] != sent["pgvigil"]["errors"]:
            failures.append("pgvigil counted %d of %d ERROR lines at %d/s %s"
                            % (v["errors"], sent["pgvigil"]["errors"], rate, framing))
        time.sleep(3)
stop.set()
print("\nwhole run: peak RSS (VmHWM) pgvigil %.1f MB, rsyslogd %.1f MB; RSS every second "
      "pgvigil %.1f-%.1f MB, rsyslogd %.1f-%.1f MB; load average %s"
      % (memory(agent_pid, "VmHWM") / MB, memory(rsyslog_pid, "VmHWM") / MB,
         min(s[1] for s in samples) / MB, max(s[1] for s in samples) / MB,
         min(s[2] for s in samples) / MB, max(s[2] for s in samples) / MB, loadavg()))
print("every line counted by pgvigil" if not failures else "\n".join(failures))
PY
