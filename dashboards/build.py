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
            "multi": True, "includeAll": True, "allValue": ".+",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}


def dashboard(uid, title, description, panels, up="pg_up"):
    """`up`: the series whose targets fill the target variable (pgbouncer_up for PgBouncer)."""
    x = y = 0
    for i, p in enumerate(panels, start=1):
        if x + p["gridPos"]["w"] > 24:
            x, y = 0, y + 8
        p["id"] = i
        p["gridPos"].update({"x": x, "y": y})
        x += p["gridPos"]["w"]
    panel_types = sorted({p["type"] for p in panels if p["type"] != "row"})
    return {
        # What Grafana's "Import dashboard" reads: the data-source picker (DS_PROMETHEUS, which
        # becomes the datasource variable's value) and the plugins the dashboard needs.
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus",
                      "description": "The Prometheus that scrapes pgvigil"}],
        "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.3.0"},
                       {"type": "datasource", "id": "prometheus", "name": "Prometheus",
                        "version": "1.0.0"}] +
                      [{"type": "panel", "id": t, "name": t, "version": ""} for t in panel_types],
        "uid": uid, "title": title, "description": description,
        "tags": ["pgvigil", "pgbouncer" if up == "pgbouncer_up" else "postgresql"],
        "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"}, "refresh": "30s", "timezone": "",
        "links": [{"title": "pgvigil dashboards", "type": "dashboards", "tags": ["pgvigil"],
                   "asDropdown": True}],
        "annotations": {"list": []},
        "templating": {"list": [
            # Imported through the UI, the picked data source replaces ${DS_PROMETHEUS};
            # provisioned, the value names no data source and Grafana selects its default.
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "hide": 0, "refresh": 1,
             "current": {"selected": True, "text": "${DS_PROMETHEUS}", "value": "${DS_PROMETHEUS}"}},
            variable("job", "Job", "label_values(pgvigil_build_info, job)"),
            variable("instance", "Instance", 'label_values(pgvigil_build_info{job=~"$job"}, instance)'),
            variable("target", "Target", 'label_values(%s{%s}, target)' % (up, A)),
        ]},
        "panels": panels,
    }


UP_MAPPINGS = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                               "1": {"text": "UP", "color": "green"}}}]

OVERVIEW = dashboard("pgvigil-overview", "pgvigil / Overview",
                     "Is PostgreSQL up, how fast does it answer, how close is it to running out "
                     "of connections, and how many requests fail.", [
    # The first row answers at a glance: up, how full, how many fail, what is slow, how fast.
    panel("Availability", "1 while the last SELECT 1 probe succeeded (pg_up). "
          "PostgresDown fires after a minute at 0.", "none",
          [("min by (target) (pg_up{%s})" % S, "{{target}}")], kind="stat", width=4,
          limits={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                {"color": "green", "value": 1}]},
          mappings=UP_MAPPINGS),
    panel("Connection usage now", "Client backends over the connections ordinary roles may "
          "open. PostgresConnectionUsageHigh pages above 90%.", "percentunit",
          [("max by (target) (pg_connections_used{%s}) / max by (target) (pg_connections_max{%s})"
            % (S, S), "{{target}}")], kind="stat", width=5, min=0, max=1,
          limits=thresholds((0.75, "orange"), (0.9, "red"))),
    panel("Error ratio now", "Errors per request over the last rate interval (server log "
          "errors over statements, else rollbacks). PostgresErrorRateHigh pages above 5%.",
          "percentunit", [(ERROR_RATIO, "{{target}}")], kind="stat", width=5, min=0,
          limits=thresholds((0.01, "orange"), (0.05, "red"))),
    panel("Slow now", "Active queries running longer than slow_query_threshold right now.",
          "short", [("sum by (target) (pg_stat_activity_slow_queries{%s})" % S, "{{target}}")],
          kind="stat", width=5, limits=thresholds((1, "orange"))),
    panel("Probe p95", "95th percentile of the SELECT 1 round trip over the last rate "
          "interval. PostgresProbeLatencyHigh warns above 500 ms.", "s",
          [(quantile(0.95, "pg_probe_duration_seconds"), "{{target}}")], kind="stat", width=5,
          limits=thresholds((0.1, "orange"), (0.5, "red"))),
    panel("Connection usage", "Client backends over the connections ordinary roles may open "
          "(max_connections less reserved slots). PostgresConnectionUsageHigh pages above 90%.",
          "percentunit",
          [("max by (target) (pg_connections_used{%s}) / max by (target) (pg_connections_max{%s})"
            % (S, S), "{{target}}")], width=12, min=0, max=1,
          limits=thresholds((0.75, "orange"), (0.9, "red"))),
    panel("Error ratio", "Errors per request: server log errors over statements executed "
          "where the log collector runs, else the transaction rollback ratio. "
          "PostgresErrorRateHigh pages above 5%.", "percentunit", [(ERROR_RATIO, "{{target}}")],
          width=12, min=0, limits=thresholds((0.01, "orange"), (0.05, "red"))),
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
    panel("By application", "Client backends per application_name: which application or "
          "function holds the connections (the top applications_top_n names, the rest as "
          "\"other\"; empty when the client set none).", "short",
          [("topk(10, sum by (target, application_name) "
            "(pg_stat_activity_application_sessions{%s}))" % S, "{{target}} {{application_name}}")]),
    panel("By application, idle in transaction", "Sessions per application_name holding a "
          "transaction open while idle: each pins a connection (and, behind PgBouncer in "
          "transaction mode, a server connection).", "short",
          [('sum by (target, application_name) (pg_stat_activity_application_sessions{%s, '
            'state="idle in transaction"})' % S, "{{target}} {{application_name}}")]),
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

POOL = '{%s, database=~"$database"}' % S
POOL_USAGE = ('sum by (target, database, user) (pgbouncer_pool_server_connections{%s, '
              'database=~"$database", state=~"active|active_cancel"}) / on (target, database) '
              'group_left max by (target, database) (pgbouncer_pool_size%s > 0)' % (S, POOL))
PGBOUNCER = dashboard("pgvigil-pgbouncer", "pgvigil / PgBouncer",
                      "PgBouncer in front of PostgreSQL: how full each pool is, who waits, and "
                      "how close the pooler is to refusing clients.", [
    panel("Pool usage", "Server connections serving a client over pool_size + reserve_pool, "
          "per pool (idle and used ones are ready capacity, not use). "
          "PgBouncerPoolUsageHigh pages above 90%.", "percentunit",
          [(POOL_USAGE, "{{target}} {{database}}/{{user}}")], min=0, max=1,
          limits=thresholds((0.7, "orange"), (0.9, "red"))),
    panel("Waiting clients", "Clients queued for a server connection, per pool.", "short",
          [('sum by (target, database, user) (pgbouncer_pool_client_connections{%s, '
            'database=~"$database", state="waiting"})' % S, "{{target}} {{database}}/{{user}}")],
          limits=thresholds((1, "orange"))),
    panel("Longest wait", "Age of each pool's oldest waiting client. PgBouncerClientsWaiting "
          "warns after 2 minutes above 1 s.", "s",
          [("max by (target, database, user) (pgbouncer_pool_max_wait_seconds%s)" % POOL,
            "{{target}} {{database}}/{{user}}")], limits=thresholds((1, "orange"))),
    panel("Server connections by state", "PgBouncer's connections to PostgreSQL: active "
          "(serving a client), idle, used, tested, login.", "short",
          [("sum by (target, state) (pgbouncer_pool_server_connections%s)" % POOL,
            "{{target}} {{state}}")]),
    panel("Client connections vs max_client_conn", "All client connections over "
          "max_client_conn; past 100% PgBouncer refuses new clients. "
          "PgBouncerClientConnectionsHigh pages above 90%.", "percentunit",
          [("max by (target) (pgbouncer_client_connections{%s}) / max by (target) "
            "(pgbouncer_config_max_client_connections{%s} > 0)" % (S, S), "{{target}}")],
          min=0, max=1, limits=thresholds((0.7, "orange"), (0.9, "red"))),
    panel("Transactions and queries per second", "Pooled transactions and queries per second "
          "per database (SHOW STATS).", "ops",
          [("sum by (target, database) (rate(pgbouncer_stats_transactions_total%s%s))"
            % (POOL, RATE), "{{target}} {{database}} transactions"),
           ("sum by (target, database) (rate(pgbouncer_stats_queries_total%s%s))"
            % (POOL, RATE), "{{target}} {{database}} queries")]),
    panel("Average wait per transaction", "Seconds clients waited for a server connection per "
          "pooled transaction, per database.", "s",
          [("sum by (target, database) (rate(pgbouncer_stats_wait_seconds_total%s%s)) / "
            "(sum by (target, database) (rate(pgbouncer_stats_transactions_total%s%s)) > 0)"
            % (POOL, RATE, POOL, RATE), "{{target}} {{database}}")]),
    panel("Pool sizes", "pool_size + reserve_pool of each database entry, and its server "
          "connections now.", "short",
          [("max by (target, database) (pgbouncer_pool_size%s)" % POOL,
            "{{target}} {{database}} size"),
           ("max by (target, database) (pgbouncer_database_current_connections%s)" % POOL,
            "{{target}} {{database}} connections")]),
], up="pgbouncer_up")
PGBOUNCER["templating"]["list"].append(
    variable("database", "Database",
             'label_values(pgbouncer_pool_size{%s, target=~"$target"}, database)' % A))

LIMIT = "2147483648"  # 2^31: transaction and multixact IDs wrap around there
STREAMING_MAPPINGS = [{"type": "value", "options": {"0": {"text": "NOT STREAMING", "color": "red"},
                                                      "1": {"text": "STREAMING", "color": "green"}}}]
FAILING_MAPPINGS = [{"type": "value", "options": {"0": {"text": "OK", "color": "green"},
                                                    "1": {"text": "FAILING", "color": "red"}}}]
REPLICATION = dashboard("pgvigil-replication", "pgvigil / Replication and durability",
                        "Are the standbys streaming and caught up, do replication slots keep "
                        "WAL for nobody, how close is transaction ID wraparound, what holds the "
                        "xmin horizon, and is WAL archived.", [
    # Standbys, seen from the primary and from the standby itself.
    panel("Standbys", "Standbys connected to each primary, by state and sync_state "
          "(pg_stat_replication).", "short",
          [("sum by (target, state, sync_state) (pg_replication_standbys{%s})" % S,
            "{{target}} {{state}} {{sync_state}}")], width=6),
    panel("Standby streaming", "On a standby: 1 while its WAL receiver streams from its "
          "upstream. PostgresStandbyNotStreaming pages after a minute at 0.", "none",
          [("min by (target) (pg_replication_receiver_streaming{%s})" % S, "{{target}}")],
          kind="stat", width=6,
          limits={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                {"color": "green", "value": 1}]},
          mappings=STREAMING_MAPPINGS),
    panel("Time since the standby heard from its upstream", "On a standby: seconds since "
          "the WAL receiver last received a message from its upstream (the primary sends one "
          "at least every wal_sender_timeout / 2 while connected).", "s",
          [("max by (target) (pg_replication_receiver_last_message_age_seconds{%s})" % S,
            "{{target}}")], width=12),
    panel("Replay lag", "PostgreSQL's lag times of each standby on its primary, by stage "
          "(0 once the standby has replayed everything, so an idle primary shows none), and a "
          "standby target's own replay lag (0 only while it streams, hears from its upstream "
          "and has replayed all it received). PostgresReplicationLagHigh warns past 30 s, "
          "pages past 5 minutes.", "s",
          [("max by (target, standby, stage) (pg_replication_standby_lag_seconds{%s})" % S,
            "{{target}} {{standby}} {{stage}}"),
           ("max by (target) (pg_replication_replay_lag_seconds{%s})" % S, "{{target}} (itself)")],
          limits=thresholds((30, "orange"), (300, "red"))),
    panel("Lag in bytes", "WAL not yet sent, written, flushed and replayed by each standby "
          "(the primary's current position minus the standby's), and a standby target's "
          "received-but-not-replayed WAL.", "bytes",
          [("max by (target, standby, stage) (pg_replication_standby_lag_bytes{%s})" % S,
            "{{target}} {{standby}} {{stage}}"),
           ("max by (target) (pg_replication_replay_lag_bytes{%s})" % S, "{{target}} (itself)")]),
    # Replication slots.
    panel("Slot has a consumer", "1 while a consumer (a standby, a subscriber) is connected to "
          "the slot.", "none",
          [("min by (target, slot_name, slot_type) (pg_replication_slot_active{%s})" % S,
            "{{target}} {{slot_name}} ({{slot_type}})")], min=0, max=1),
    panel("WAL retained by slots", "WAL each slot keeps in pg_wal (current position minus its "
          "restart_lsn). A slot without a consumer keeps it until the disk is full: "
          "PostgresReplicationSlotInactive warns after 10 minutes.", "bytes",
          [("max by (target, slot_name) (pg_replication_slot_retained_bytes{%s})" % S,
            "{{target}} {{slot_name}}")]),
    panel("Slot WAL left before invalidation", "safe_wal_size: WAL that may still be written "
          "before the slot passes max_slot_wal_keep_size and is invalidated (PostgreSQL 13+, "
          "only when that setting is set). PostgresReplicationSlotWalAtRisk warns when the "
          "slot's retention would use it up within 4 hours.", "bytes",
          [("min by (target, slot_name) (pg_replication_slot_safe_wal_bytes{%s})" % S,
            "{{target}} {{slot_name}}")], width=8),
    panel("Slot WAL status", "Each slot's wal_status (PostgreSQL 13+): reserved and extended "
          "are fine; unreserved (the next checkpoint may remove its WAL) and lost (removed) "
          "page through PostgresReplicationSlotWalAtRisk.", "none",
          [("max by (target, slot_name, wal_status) (pg_replication_slot_wal_status{%s} == 1)"
            % S, "{{target}} {{slot_name}} {{wal_status}}")], width=8, min=0, max=1),
    panel("Slot without a consumer for", "How long each slot has had no consumer (0 while one "
          "is connected).", "s",
          [("max by (target, slot_name) (pg_replication_slot_inactive_seconds{%s})" % S,
            "{{target}} {{slot_name}}")], width=8,
          limits=thresholds((600, "orange"), (3600, "red"))),
    # Wraparound and the xmin horizon.
    panel("Transaction ID age", "The oldest unfrozen transaction ID (xid, age(datfrozenxid)) "
          "and multixact ID (mxid, mxid_age(datminmxid)) of each database, as a share of the "
          "2^31 limit where the server stops accepting writes. PostgresTxidWraparoundRisk "
          "warns past 50% (or earlier by forecast), pages past 75%.", "percentunit",
          [("max by (target, datname) (pg_database_xid_age{%s}) / %s" % (S, LIMIT),
            "{{target}} {{datname}} xid"),
           ("max by (target, datname) (pg_database_mxid_age{%s}) / %s" % (S, LIMIT),
            "{{target}} {{datname}} mxid")], min=0, max=1,
          limits=thresholds((0.5, "orange"), (0.75, "red"))),
    panel("xmin horizon age by holder", "Age in transactions of the oldest xmin each kind of "
          "holder pins: an open transaction, a replication slot, a prepared transaction, a "
          "standby's feedback. Nothing newer can be vacuumed away; /health names the holder. "
          "PostgresXminHorizonHeld warns past 10 million, pages past 100 million.", "short",
          [("max by (target, holder) (pg_xmin_horizon_age{%s})" % S, "{{target}} {{holder}}")],
          limits=thresholds((10000000, "orange"), (100000000, "red"))),
    # WAL archiving.
    panel("Archiver failing", "1 when the newest archive_command attempt failed. "
          "PostgresWalArchivingFailing pages after 5 minutes.", "none",
          [("max by (target) (pg_stat_archiver_failing{%s})" % S, "{{target}}")], kind="stat",
          width=6, limits=thresholds((1, "red")), mappings=FAILING_MAPPINGS),
    panel("Segments waiting to be archived", "WAL segments with a .ready file in "
          "pg_wal/archive_status: the archiving backlog.", "short",
          [("max by (target) (pg_stat_archiver_ready_files{%s})" % S, "{{target}}")], width=6,
          limits=thresholds((16, "orange"), (128, "red"))),
    panel("WAL archiving", "Segments archived and failed attempts per second "
          "(pg_stat_archiver).", "ops",
          [("sum by (target) (rate(pg_stat_archiver_archived_total{%s}%s))" % (S, RATE),
            "{{target}} archived"),
           ("sum by (target) (rate(pg_stat_archiver_failed_total{%s}%s))" % (S, RATE),
            "{{target}} failed")]),
    # Checkpoints and WAL volume.
    panel("Checkpoints per minute by trigger", "Checkpoints started on schedule "
          "(checkpoint_timeout) and requested (max_wal_size reached, CHECKPOINT, a backup): "
          "requested ones dominating mean max_wal_size is too small for the write rate. The "
          "same series on PostgreSQL 12-18 (pg_stat_bgwriter, pg_stat_checkpointer from 17).",
          "opm",
          [("sum by (target, trigger) (rate(pg_checkpoints_total{%s}%s)) * 60" % (S, RATE),
            "{{target}} {{trigger}}")]),
    panel("Checkpoint write and sync time", "Seconds per second checkpoints spent writing "
          "buffers and syncing files to disk.", "s",
          [("sum by (target) (rate(pg_checkpoint_write_seconds_total{%s}%s))" % (S, RATE),
            "{{target}} write"),
           ("sum by (target) (rate(pg_checkpoint_sync_seconds_total{%s}%s))" % (S, RATE),
            "{{target}} sync")]),
    panel("Buffers written by checkpoints", "Shared buffers checkpoints wrote per second.",
          "short",
          [("sum by (target) (rate(pg_checkpoint_buffers_written_total{%s}%s))" % (S, RATE),
            "{{target}}")]),
    panel("WAL written", "WAL generated per second (the rate of the WAL position; on a "
          "standby, of the replayed position).", "Bps",
          [("sum by (target) (rate(pg_wal_lsn_bytes_total{%s}%s))" % (S, RATE), "{{target}}")]),
    panel("pg_wal size", "Bytes in pg_wal: grows when a slot retains WAL, archiving fails, or "
          "max_wal_size is large.", "bytes",
          [("max by (target) (pg_wal_directory_bytes{%s})" % S, "{{target}}")]),
    panel("Database sizes", "Size on disk of each database (pg_database_size), read at "
          "maintenance_interval.", "bytes",
          [("max by (target, datname) (pg_database_size_bytes{%s})" % S,
            "{{target}} {{datname}}")]),
])

DASHBOARDS = {"pgvigil-overview.json": OVERVIEW, "pgvigil-queries.json": QUERIES,
              "pgvigil-connections.json": CONNECTIONS, "pgvigil-agent.json": AGENT,
              "pgvigil-pgbouncer.json": PGBOUNCER, "pgvigil-replication.json": REPLICATION}


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
