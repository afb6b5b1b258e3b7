#!/usr/bin/env python3
"""Measures an exporter process from the outside: scrape latency, samples per scrape, RSS and
CPU over an idle period. Used by the bench/ scripts to print agents side by side.

  measure.py --pid PID --url URL [--scrapes N] [--idle SECONDS] [--interval S]
Prints one JSON object."""

import argparse
import http.client
import json
import os
import statistics
import time
import urllib.parse


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def memory(pid):
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def scrape(conn, path):
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit("scrape returned %d" % response.status)
    samples = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    return elapsed, samples


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--idle", type=float, default=0.0)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.url)

    idle_cpu = None
    if args.idle > 0:
        before = cpu_seconds(args.pid)
        time.sleep(args.idle)
        idle_cpu = (cpu_seconds(args.pid) - before) / args.idle

    cpu_before = cpu_seconds(args.pid)
    latencies, samples = [], 0
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    for _ in range(args.scrapes):
        elapsed, samples = scrape(conn, url.path)
        latencies.append(elapsed)
        if args.interval:
            time.sleep(args.interval)
    scrape_cpu = cpu_seconds(args.pid) - cpu_before
    mem = memory(args.pid)
    print(json.dumps({
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": quantile(latencies, 0.99) * 1e3,
        "samples": samples,
        "rss_bytes": mem.get("VmRSS"),
        "peak_rss_bytes": mem.get("VmHWM"),
        "idle_cpu_fraction": idle_cpu,
        "cpu_seconds_scraping": scrape_cpu,
        "scrapes": args.scrapes,
    }))


if __name__ == "__main__":
    main()
