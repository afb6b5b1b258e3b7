#!/usr/bin/env python3
"""Writes pgvigil's Grafana dashboards (dashboards/*.json) from the definitions below.

  dashboards/build.py          rewrite the JSON files
  dashboards/build.py --check  exit 1 if a JSON file differs from what this script makes

Conventions every panel gets here (and tests/dashboards/lint_dashboards.py enforces): the
`datasource` variable and never a fixed uid, the job/instance/target variables, rates over
$__rate_interval, a title, a description and a unit, and threshold lines where an alert exists."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
S = 'job=~"$job", instance=~"$instance", target=~"$target"'  # series of the selected targets
A = 'job=~"$job", instance=~"$instance"'                      # the agent's own series
RATE = "[$__rate_interval]"

ERRORS = 'pg_log_messages_total{%s, severity=~"ERROR|FATAL|PANIC"}' % S
ERROR_RATIO = (
    "(sum by (target) (rate(%(e)s%(r)s)) / (sum by (target) (rate(pg_stat_statements_calls_total{%(s)s}%(r)s))"
    " + sum by (target) (rate(%(e)s%(r)s))))"
    " or (sum by (target) (rate(pg_stat_database_xact_rollback_total{%(s)s}%(r)s))"
    " / (sum by (target) (rate(pg_stat_database_xact_commit_total{%(s)s}%(r)s))"
    " + sum by (target) (rate(pg_stat_database_xact_rollback_total{%(s)s}%(r)s))))"
    % {"e": ERRORS, "s": S, "r": RATE})


def quantile(q, metric):
    return ("histogram_quantile(%s, sum by (target, le) (rate(%s_bucket{%s}%s)))"
            % (q, metric, S, RATE))


def thresholds(*steps):
    """steps: (value, color) after the base green; drawn as lines on time series."""
    return {"mode": "absolute",
            "steps": [{"color": "green", "value": None}] +
                     [{"color": color, "value": value} for value, color in steps]}


def panel(title, description, unit, exprs, kind="timeseries", limits=None, width=12, **extra):
    targets = [{"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
               for i, (expr, legend) in enumerate(exprs)]
    defaults = {"unit": unit}
    custom = {}
    if limits:
        defaults["thresholds"] = limits
        if kind == "timeseries":
            custom["thresholdsStyle"] = {"mode": "line+area" if extra.get("area") else "line"}
    if kind == "timeseries":
        custom.update({"lineWidth": 1, "fillOpacity": 10, "showPoints": "never"})
        defaults["custom"] = custom
    for key in ("min", "max", "mappings"):
        if key in extra:
            defaults[key] = extra[key]
    result = {"type": kind, "title": title, "description": description, "datasource": DS,
              "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
              "options": {}, "gridPos": {"w": width, "h": 8}}
    if kind == "timeseries":
        result["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                        "calcs": ["lastNotNull", "max"]},
                             "tooltip": {"mode": "multi", "sort": "desc"}}
    elif kind == "stat":
        result["options"] = {"colorMode": "background", "graphMode": "none",
                             "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return result


def variable(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}


def dashboard(uid, title, description, panels):
    x = y = 0
    for i, p in enumerate(panels, start=1):
        if x + p["gridPos"]["w"] > 24:
            x, y = 0, y + 8
        p["id"] = i
        p["gridPos"].update({"x": x, "y": y})
        x += p["gridPos"]["w"]
    return {
        "uid": uid, "title": title, "description": description, "tags": ["pgvigil", "postgresql"],
        "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"}, "refresh": "30s", "timezone": "",
        "links": [{"title": "pgvigil dashboards", "type": "dashboards", "tags": ["pgvigil"],
                   "asDropdown": True}],
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
            variable("job", "Job", "label_values(pgvigil_build_info, job)"),
            variable("instance", "Agent", 'label_values(pgvigil_build_info{job=~"$job"}, instance)'),
            variable("target", "Target", 'label_values(pg_up{%s}, target)' % A),
        ]},
        "panels": panels,
    }


UP_MAPPINGS = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                               "1": {"text": "UP", "color": "green"}}}]

OVERVIEW = dashboard("pgvigil-overview", "pgvigil / Overview",
                     "Is PostgreSQL up, how fast does it answer, how close is it to running out "
                     "of connections, and how many requests fail.", [
    panel("Availability", "1 while the last SELECT 1 probe succeeded (pg_up). "
          "PostgresDown fires after a minute at 0.", "none",
          [("min by (target) (pg_up{%s})" % S, "{{target}}")], kind="stat", width=6,
          limits={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                {"color": "green", "value": 1}]},
          mappings=UP_MAPPINGS),
    panel("Connection usage", "Client backends over the connections ordinary roles may open "
          "(max_connections less reserved slots). PostgresConnectionUsageHigh pages above 90%.",
          "percentunit",
          [("max by (target) (pg_connections_used{%s}) / max by (target) (pg_connections_max{%s})"
            % (S, S), "{{target}}")], width=9, min=0, max=1,
          limits=thresholds((0.75, "orange"), (0.9, "red"))),
    panel("Error ratio", "Errors per request: server log errors over statements executed "
          "where the log collector runs, else the transaction rollback ratio. "
          "PostgresErrorRateHigh pages above 5%.", "percentunit", [(ERROR_RATIO, "{{target}}")],
          width=9, min=0, limits=thresholds((0.01, "orange"), (0.05, "red"))),
    panel("Probe latency", "SELECT 1 round trip on the monitoring connection, quantiles. "
          "PostgresProbeLatencyHigh warns when p95 passes 500 ms.", "s",
          [(quantile(q, "pg_probe_duration_seconds"), "{{target}} p%s" % int(q * 100))
           for q in (0.5, 0.95, 0.99)], limits=thresholds((0.5, "red"))),
    panel("Connect latency", "A fresh connection (TCP, TLS, authentication) plus SELECT 1, as "
          "a serverless function pays it on every invocation.", "s",
          [(quantile(q, "pg_probe_connect_duration_seconds"), "{{target}} p%s" % int(q * 100))
           for q in (0.5, 0.95)]),
    panel("Connections used and max", "Client backends counted against max_connections, and "
          "the usable maximum.", "short",
          [("max by (target) (pg_connections_used{%s})" % S, "{{target}} used"),
           ("max by (target) (pg_connections_max{%s})" % S, "{{target}} max")]),
    panel("Sessions by state", "Client backends by state (the agent's own excluded).", "short",
          [("sum by (target, state) (pg_stat_activity_sessions{%s})" % S, "{{target}} {{state}}")]),
    panel("Lock waiters", "Active sessions waiting on a heavyweight lock. PostgresLockWaiters "
          "warns after 5 minutes above 0.", "short",
          [("sum by (target) (pg_stat_activity_lock_waiters{%s})" % S, "{{target}}")],
          limits=thresholds((1, "orange"))),
    panel("Slow queries", "Active queries past slow_query_threshold, and statements whose mean "
          "time over the last poll passed it. PostgresSlowQueries warns after 10 minutes.",
          "short",
          [("sum by (target) (pg_stat_activity_slow_queries{%s})" % S, "{{target}} running"),
           ("max by (target) (pg_stat_statements_slow_statements{%s})" % S, "{{target}} statements")],
          limits=thresholds((1, "orange"))),
    panel("Probe failures", "Failed probes per second by reason: connect, timeout, query.",
          "ops", [("sum by (target, reason) (rate(pg_probe_failures_total{%s}%s))" % (S, RATE),
                   "{{target}} {{reason}}")], width=12),
    panel("Server errors", "Server log messages per second by severity (log collector).", "ops",
          [("sum by (target, severity) (rate(pg_log_messages_total{%s}%s))" % (S, RATE),
            "{{target}} {{severity}}")], width=12),
])

STATEMENT = 'sum by (target, datname, user, queryid) (rate(pg_stat_statements_%s_total{%s}%s))'
QUERIES = dashboard("pgvigil-queries", "pgvigil / Queries",
                    "Which statements take the time, which are slow, and whether "
                    "pg_stat_statements holds them all.", [
    panel("Top statements by total time", "Execution seconds per second, the 10 statements "
          "with the most; queryid \"other\" sums every statement outside the exported top N.",
          "s", [("topk(10, %s)" % (STATEMENT % ("seconds", S, RATE)),
                 "{{target}} {{datname}} {{user}} {{queryid}}")]),
    panel("Top statements by calls", "Executions per second, the 10 busiest statements.",
          "reqps", [("topk(10, %s)" % (STATEMENT % ("calls", S, RATE)),
                     "{{target}} {{datname}} {{user}} {{queryid}}")]),
    panel("Top statements by mean time", "Mean execution time over the interval, the 10 "
          "slowest statements that ran.", "s",
          [("topk(10, %s / (%s > 0))" % (STATEMENT % ("seconds", S, RATE),
                                          STATEMENT % ("calls", S, RATE)),
            "{{target}} {{datname}} {{user}} {{queryid}}")], limits=thresholds((1, "red"))),
    panel("Statements per second", "All statements executed, per target (the agent's own "
          "included: these counters are the server's truth).", "reqps",
          [("sum by (target) (rate(pg_stat_statements_calls_total{%s}%s))" % (S, RATE),
            "{{target}}")]),
    panel("Slow statements", "Statements whose mean time over the last poll passed "
          "slow_query_threshold, and running queries past it.", "short",
          [("max by (target) (pg_stat_statements_slow_statements{%s})" % S, "{{target}} statements"),
           ("sum by (target) (pg_stat_activity_slow_queries{%s})" % S, "{{target}} running")],
          limits=thresholds((1, "orange"))),
    panel("Rows per second", "Rows returned or affected, the 10 statements with the most.",
          "short",
          [("topk(10, %s)" % (STATEMENT % ("rows", S, RATE)),
            "{{target}} {{datname}} {{user}} {{queryid}}")]),
    panel("pg_stat_statements fill level", "Entries tracked over pg_stat_statements.max. Near "
          "full, the extension evicts statements and totals lose history.", "percentunit",
          [("max by (target) (pg_stat_statements_tracked{%s}) / max by (target) "
            "(pg_stat_statements_max{%s})" % (S, S), "{{target}}")], min=0, max=1,
          limits=thresholds((0.9, "orange"))),
    panel("pg_stat_statements evictions", "Times per second the extension evicted entries "
          "(PostgreSQL 14+); above 0, raise pg_stat_statements.max.", "ops",
          [("sum by (target) (rate(pg_stat_statements_dealloc_total{%s}%s))" % (S, RATE),
            "{{target}}")]),
])

CONNECTIONS = dashboard("pgvigil-connections", "pgvigil / Connections",
                        "Who holds the connections, what they are doing, and how long they "
                        "keep transactions open.", [
    panel("Connection usage", "Client backends over the usable maximum. "
          "PostgresConnectionUsageHigh pages above 90%.", "percentunit",
          [("max by (target) (pg_connections_used{%s}) / max by (target) (pg_connections_max{%s})"
            % (S, S), "{{target}}")], min=0, max=1,
          limits=thresholds((0.75, "orange"), (0.9, "red"))),
    panel("By database", "Client backends per database.", "short",
          [("sum by (target, datname) (pg_stat_activity_sessions{%s})" % S, "{{target}} {{datname}}")]),
    panel("By user", "Client backends per role.", "short",
          [("sum by (target, usename) (pg_stat_activity_sessions{%s})" % S, "{{target}} {{usename}}")]),
    panel("By state", "Client backends per state; many idle ones often mean a pool sized "
          "larger than the work.", "short",
          [("sum by (target, state) (pg_stat_activity_sessions{%s})" % S, "{{target}} {{state}}")]),
    panel("Waiting on locks", "Active sessions waiting on a heavyweight lock, per database.",
          "short", [("sum by (target, datname) (pg_stat_activity_lock_waiters{%s})" % S,
                     "{{target}} {{datname}}")], limits=thresholds((1, "orange"))),
    panel("Idle in transaction, oldest", "Age of the oldest transaction left open and idle. "
          "PostgresIdleInTransaction warns past 5 minutes.", "s",
          [('max by (target, datname) (pg_stat_activity_max_tx_duration_seconds{%s, '
            'state=~"idle in transaction.*"})' % S, "{{target}} {{datname}}")],
          limits=thresholds((300, "red"))),
    panel("Longest running query", "Age of the longest-running active query per database.", "s",
          [("max by (target, datname) (pg_stat_activity_max_query_duration_seconds{%s})" % S,
            "{{target}} {{datname}}")]),
    panel("Per-database limits", "Each database's connection limit (-1 = none) and its "
          "backends now.", "short",
          [("max by (target, datname) (pg_database_connection_limit{%s})" % S,
            "{{target}} {{datname}} limit"),
           ("max by (target, datname) (pg_stat_database_numbackends{%s})" % S,
            "{{target}} {{datname}} backends")]),
    panel("Sessions ended badly", "Sessions per second ended by a fatal error, killed, or "
          "abandoned by their client (PostgreSQL 14+).", "ops",
          [("sum by (target) (rate(pg_stat_database_sessions_%s_total{%s}%s))" % (kind, S, RATE),
            "{{target}} %s" % kind) for kind in ("fatal", "killed", "abandoned")], width=24),
])

AGENT = dashboard("pgvigil-agent", "pgvigil / Agent",
                  "Is the agent itself healthy: its collectors, and what it costs.", [
    panel("Collector success", "1 when the collector's last run succeeded. "
          "PgvigilCollectorFailing warns after 10 minutes at 0.", "none",
          [("min by (target, collector) (pgvigil_collector_success{%s})" % S,
            "{{target}} {{collector}}")], min=0, max=1),
    panel("Collector duration", "How long each collector's last run took.", "s",
          [("max by (target, collector) (pgvigil_collector_duration_seconds{%s})" % S,
            "{{target}} {{collector}}")]),
    panel("Collector errors", "Failed collector runs per second.", "ops",
          [("sum by (target, collector) (rate(pgvigil_collector_errors_total{%s}%s))" % (S, RATE),
            "{{target}} {{collector}}")]),
    panel("Capabilities", "What the monitoring role may do on each target: pg_monitor "
          "privileges, pg_stat_statements installed.", "none",
          [("min by (target, capability) (pgvigil_capability{%s})" % S,
            "{{target}} {{capability}}")], min=0, max=1),
    panel("Agent memory", "Resident memory of the agent process.", "bytes",
          [("max by (instance) (process_resident_memory_bytes{%s})" % A, "{{instance}}")]),
    panel("Agent CPU", "CPU the agent uses, as a share of one core.", "percentunit",
          [("sum by (instance) (rate(process_cpu_seconds_total{%s}%s))" % (A, RATE),
            "{{instance}}")]),
    panel("Open file descriptors", "File descriptors the agent holds.", "short",
          [("max by (instance) (process_open_fds{%s})" % A, "{{instance}}")]),
    panel("Agent version", "pgvigil version and revision of each agent.", "none",
          [("max by (instance, version, revision) (pgvigil_build_info{%s})" % A,
            "{{instance}} {{version}} ({{revision}})")], kind="stat"),
])

DASHBOARDS = {"pgvigil-overview.json": OVERVIEW, "pgvigil-queries.json": QUERIES,
              "pgvigil-connections.json": CONNECTIONS, "pgvigil-agent.json": AGENT}


def main():
    check = sys.argv[1:] == ["--check"]
    stale = []
    for name, content in DASHBOARDS.items():
        text = json.dumps(content, indent=2) + "\n"
        path = os.path.join(HERE, name)
        if check:
            with open(path) as f:
                if f.read() != text:
                    stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit("out of date (run dashboards/build.py): " + ", ".join(stale))


if __name__ == "__main__":
    main()
