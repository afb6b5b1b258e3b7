#!/usr/bin/env python3
"""Measures one agent watching a fleet, from the outside (bench/fleet.sh):

  fleet_measure.py --pid PID --url URL --targets N --single-url URL [--idle S] [--scrapes N]

1. start: seconds from now until every target's pg_up is 1 (the agent was just started);
2. idle CPU over --idle seconds with no scrape, RSS after;
3. /metrics asked with Accept-Encoding: gzip (as Prometheus asks), --scrapes times 1 s apart:
   p50, p99, max, body size;
4. mean SELECT 1 probe time over the idle window, from the histograms' _sum/_count deltas,
   across the fleet and from a one-target agent (--single-url) probing the same server at the
   same time: how much of the fleet's probe time is the agent's own;
5. connect timeouts and failures: pg_probe_failures_total by reason, summed over the fleet.
Prints one JSON object."""

import argparse
import gzip
import http.client
import json
import os
import re
import statistics
import time
import urllib.parse

SAMPLE = re.compile(rb'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_field(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def get(url, gzipped=False):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", u.path, headers={"Accept-Encoding": "gzip"} if gzipped else {})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    wire = len(body)
    if response.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    conn.close()
    if response.status != 200:
        raise SystemExit("%s answered %d" % (url, response.status))
    return body, elapsed, wire


def sums(body, names):
    """{name: {label_text: value}} for the sample names asked for."""
    out = {n: {} for n in names}
    for line in body.split(b"\n"):
        m = SAMPLE.match(line)
        if m and m.group(1).decode() in out:
            out[m.group(1).decode()][(m.group(2) or b"").decode()] = float(m.group(3))
    return out


def probe_mean(before, after):
    s = sum(after["pg_probe_duration_seconds_sum"].values()) - \
        sum(before["pg_probe_duration_seconds_sum"].values())
    c = sum(after["pg_probe_duration_seconds_count"].values()) - \
        sum(before["pg_probe_duration_seconds_count"].values())
    return (s / c * 1e3 if c else None), c


PROBE = ["pg_probe_duration_seconds_sum", "pg_probe_duration_seconds_count"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--single-url", required=True)
    p.add_argument("--targets", type=int, required=True)
    p.add_argument("--idle", type=float, default=60)
    p.add_argument("--scrapes", type=int, default=30)
    a = p.parse_args()

    start = time.monotonic()
    all_up = None
    while time.monotonic() - start < 180:
        body, _, _ = get(a.url)
        up = sum(1 for v in sums(body, ["pg_up"])["pg_up"].values() if v == 1)
        if up == a.targets:
            all_up = time.monotonic() - start
            break
        time.sleep(0.25)
    time.sleep(20)  # every collector has run at least once

    fleet_before = sums(get(a.url)[0], PROBE)
    single_before = sums(get(a.single_url)[0], PROBE)
    cpu_before = cpu_seconds(a.pid)
    time.sleep(a.idle)
    idle_cpu = (cpu_seconds(a.pid) - cpu_before) / a.idle
    fleet_after = sums(get(a.url)[0], PROBE)
    single_after = sums(get(a.single_url)[0], PROBE)
    fleet_ms, fleet_probes = probe_mean(fleet_before, fleet_after)
    single_ms, single_probes = probe_mean(single_before, single_after)

    latencies, wire, size, samples = [], 0, 0, 0
    cpu_before = cpu_seconds(a.pid)
    scrape_start = time.monotonic()
    for _ in range(a.scrapes):
        body, elapsed, wire = get(a.url, gzipped=True)
        latencies.append(elapsed)
        size = len(body)
        time.sleep(1)
    # CPU the scrapes added above the agent's polling (idle CPU over the same time).
    scrape_cpu = cpu_seconds(a.pid) - cpu_before - idle_cpu * (time.monotonic() - scrape_start)
    samples = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    found = sums(body, ["pg_probe_failures_total", "pgvigil_collector_success",
                        "pg_stat_statements_tracked", "pgvigil_history_bytes"])
    failures = found["pg_probe_failures_total"]
    failing = {}
    for labels, value in found["pgvigil_collector_success"].items():
        if value != 1:
            collector = re.search(r'collector="([^"]*)"', labels).group(1)
            failing[collector] = failing.get(collector, 0) + 1
    tracked = list(found["pg_stat_statements_tracked"].values())
    by_reason = {}
    for labels, value in failures.items():
        reason = re.search(r'reason="([^"]*)"', labels).group(1)
        by_reason[reason] = by_reason.get(reason, 0) + value
    ordered = sorted(latencies)
    print(json.dumps({
        "targets": a.targets,
        "all_up_seconds": all_up,
        "idle_cpu_fraction": idle_cpu,
        "rss_bytes": status_field(a.pid, "VmRSS") * 1024,
        "peak_rss_bytes": status_field(a.pid, "VmHWM") * 1024,
        "threads": status_field(a.pid, "Threads"),
        "fds": len(os.listdir("/proc/%d/fd" % a.pid)),
        "scrape_p50_ms": statistics.median(latencies) * 1e3,
        "scrape_p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3,
        "scrape_max_ms": ordered[-1] * 1e3,
        "scrape_cpu_seconds_each": scrape_cpu / a.scrapes,
        "body_bytes": size,
        "gzip_bytes": wire,
        "samples": samples,
        "probe_mean_ms_fleet": fleet_ms,
        "probes_fleet": fleet_probes,
        "probe_mean_ms_single": single_ms,
        "probes_single": single_probes,
        "probe_failures_by_reason": by_reason,
        "collectors_failing": failing,
        "statements_tracked_mean": sum(tracked) / len(tracked) if tracked else 0,
        # The status page's ring: reserved in full at the first sample, so this is its bound.
        "history_bytes": sum(found["pgvigil_history_bytes"].values()),
    }))


if __name__ == "__main__":
    main()
