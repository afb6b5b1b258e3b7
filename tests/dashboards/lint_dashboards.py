#!/usr/bin/env python3
"""Checks pgvigil's Grafana dashboards without Grafana (it is not in Debian).

  lint_dashboards.py DASHBOARD_DIR RULES_FILE METRICS_FILE

METRICS_FILE is the /metrics text of a running agent with every collector on. Enforced:
schemaVersion >= 39; a `datasource` variable of type datasource (prometheus) used by every panel
and query, no fixed datasource uid; multi-select job/instance/target variables with All; every
panel titled, described and with a unit; rate()/irate()/increase() over $__rate_interval; a
threshold step at each alert's threshold on the panels that show what the alert watches; every
metric a query names is exported by the agent or recorded by RULES_FILE; every query parses
(they are wrapped as recording rules and given to `promtool check rules`).
Prints one line per problem and "N passed, N failed"; exits 1 on any problem."""

import json
import os
import re
import subprocess
import sys
import tempfile

# What an alert watches (a pattern of the query) -> the threshold the panel must draw.
ALERT_THRESHOLDS = [
    (r"pg_connections_used.*/.*pg_connections_max", 0.9),        # PostgresConnectionUsageHigh
    (r"pg_log_messages_total.*/", 0.05),                         # PostgresErrorRateHigh
    (r"histogram_quantile\(0\.95, .*pg_probe_duration_seconds", 0.5),  # PostgresProbeLatencyHigh
    (r'state=~"idle in transaction', 300),                       # PostgresIdleInTransaction
    (r"pg_replication_(standby_)?(replay_)?lag_seconds", 30),    # PostgresReplicationLagHigh
    (r"pg_replication_(standby_)?(replay_)?lag_seconds", 300),   # PostgresReplicationLagHigh
    (r"pg_database_m?xid_age.*/ 2147483648", 0.5),               # PostgresTxidWraparoundRisk
    (r"pg_database_m?xid_age.*/ 2147483648", 0.75),              # PostgresTxidWraparoundRisk
    (r"pg_xmin_horizon_age", 10000000),                          # PostgresXminHorizonHeld
    (r"pg_xmin_horizon_age", 100000000),                         # PostgresXminHorizonHeld
]
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "or", "and",
                "unless", "bool", "offset", "le", "inf", "nan"}
METRIC_PREFIXES = ("pg_", "pgvigil_", "process_")


def exported_metrics(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def recorded_metrics(rules_text):
    return set(re.findall(r"^\s*-\s*record:\s*(\S+)", rules_text, re.M))


def substitute(expr):
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?(job|instance|target|database)\}?", ".+", expr)


def referenced_metrics(expr):
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    names = set()
    for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_groupings):
        if name.startswith(METRIC_PREFIXES) or ":" in name:
            names.add(name)
    return names


def lint(directory, rules_text, metrics_text):
    problems, checked = [], 0
    known = exported_metrics(metrics_text) | recorded_metrics(rules_text)
    queries = []
    files = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    if not files:
        problems.append("%s: no dashboards" % directory)
    for name in files:
        with open(os.path.join(directory, name)) as f:
            board = json.load(f)
        where = name
        checked += 1
        if board.get("schemaVersion", 0) < 39:
            problems.append("%s: schemaVersion %s < 39" % (where, board.get("schemaVersion")))
        variables = {v["name"]: v for v in board.get("templating", {}).get("list", [])}
        ds = variables.get("datasource", {})
        if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            problems.append("%s: no `datasource` variable of type datasource (prometheus)" % where)
        for var in ("job", "instance", "target"):
            v = variables.get(var)
            if not v or v.get("type") != "query" or not v.get("multi") or not v.get("includeAll"):
                problems.append("%s: variable %s missing, or not multi-select with All" % (where, var))
                continue
            if v.get("datasource", {}).get("uid") != "${datasource}":
                problems.append("%s: variable %s does not use ${datasource}" % (where, var))
            # Grafana's dashboard linter: All is ".+" and the label is the name, title-cased.
            if v.get("allValue") != ".+":
                problems.append("%s: variable %s allValue %r, not '.+'" % (where, var, v.get("allValue")))
            if v.get("label") != var.title():
                problems.append("%s: variable %s labelled %r, not %r" % (where, var, v.get("label"), var.title()))
        problems += import_problems(where, board)
        text = json.dumps(board)
        for uid in re.findall(r'"uid": "([^"]*)"', text):
            if uid not in ("${datasource}", board.get("uid")):
                problems.append("%s: fixed datasource uid %r" % (where, uid))
        for panel in board.get("panels", []):
            pwhere = "%s: panel %r" % (name, panel.get("title"))
            checked += 1
            if panel.get("type") == "row":
                continue
            if not panel.get("title"):
                problems.append("%s: no title" % pwhere)
            if not panel.get("description"):
                problems.append("%s: no description" % pwhere)
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            if not defaults.get("unit"):
                problems.append("%s: no unit" % pwhere)
            if panel.get("datasource", {}).get("uid") != "${datasource}":
                problems.append("%s: panel datasource is not ${datasource}" % pwhere)
            steps = [s.get("value") for s in defaults.get("thresholds", {}).get("steps", [])]
            exprs = [t.get("expr", "") for t in panel.get("targets", [])]
            if not exprs or not all(exprs):
                problems.append("%s: a query without expr" % pwhere)
            for needle, threshold in ALERT_THRESHOLDS:
                if any(re.search(needle, e) for e in exprs) and threshold not in steps:
                    problems.append("%s: shows what an alert watches but draws no threshold at %s"
                                    % (pwhere, threshold))
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                if target.get("datasource", {}).get("uid") != "${datasource}":
                    problems.append("%s: query datasource is not ${datasource}" % pwhere)
                for fn_range in re.findall(r"\b(?:rate|irate|increase)\([^\[]*\[([^\]]*)\]", expr):
                    if fn_range != "$__rate_interval":
                        problems.append("%s: rate over [%s], not [$__rate_interval]"
                                        % (pwhere, fn_range))
                for metric in sorted(referenced_metrics(expr) - known):
                    problems.append("%s: %s is neither exported nor recorded" % (pwhere, metric))
                queries.append((pwhere, substitute(expr)))
        for var in ("job", "instance", "target"):
            q = variables.get(var, {}).get("query", {})
            q = q.get("query", "") if isinstance(q, dict) else q
            inner = re.match(r"label_values\((.*),\s*\w+\)$", q)
            if inner:
                queries.append(("%s: variable %s" % (name, var), substitute(inner.group(1))))
                for metric in sorted(referenced_metrics(inner.group(1)) - known):
                    problems.append("%s: variable %s uses %s, not exported" % (name, var, metric))
    problems += parse_problems(queries)
    return problems, checked


def import_problems(where, board):
    """What Grafana's UI import needs: a data-source input that the datasource variable takes,
    every ${DS_…} reference declared, and the plugins listed in __requires."""
    problems = []
    inputs = {i.get("name"): i for i in board.get("__inputs", [])}
    prometheus = [name for name, i in inputs.items()
                  if i.get("type") == "datasource" and i.get("pluginId") == "prometheus"]
    if len(prometheus) != 1:
        problems.append("%s: __inputs needs exactly one prometheus data-source input, has %r"
                        % (where, prometheus))
    variables = {v["name"]: v for v in board.get("templating", {}).get("list", [])}
    current = variables.get("datasource", {}).get("current", {}).get("value")
    if prometheus and current != "${%s}" % prometheus[0]:
        problems.append("%s: the datasource variable does not take the imported data source "
                        "(current value %r)" % (where, current))
    for name in sorted(set(re.findall(r"\$\{(DS_[A-Z0-9_]+)\}", json.dumps(board))) - set(inputs)):
        problems.append("%s: ${%s} is not declared in __inputs" % (where, name))
    required = {(r.get("type"), r.get("id")) for r in board.get("__requires", [])}
    for need in [("grafana", "grafana"), ("datasource", "prometheus")] + [
            ("panel", p.get("type")) for p in board.get("panels", []) if p.get("type") != "row"]:
        if need not in required:
            problems.append("%s: __requires does not list %s %s" % (where, need[0], need[1]))
    return problems


def parse_problems(queries):
    lines = ["groups:", "  - name: dashboard_queries", "    rules:"]
    for i, (_, expr) in enumerate(queries):
        lines.append("      - record: dashboard:query_%d" % i)
        lines.append("        expr: %s" % json.dumps(expr))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if r.returncode == 0:
        return []
    return ["promtool cannot parse the dashboard queries: " + (r.stdout + r.stderr).strip()]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[2]) as f:
        rules = f.read()
    with open(sys.argv[3]) as f:
        metrics = f.read()
    problems, checked = lint(sys.argv[1], rules, metrics)
    for problem in problems:
        print(problem)
    print("%d passed, %d failed" % (checked - min(len(problems), checked), len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
