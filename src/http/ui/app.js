// pgvigil's status page: the /health report for every target, and for the targets shown, charts
// of the last hour from /history. Everything comes from this agent; it refreshes every 10 s.
"use strict";

const REFRESH_MS = 10000;
const MAX_CHARTED = 6;  // more targets than this: charts for the one picked in the table
const COLORS = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#57606a"];
const charts = new Map();  // "target/chart" -> {plot, element}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function pct(ratio) { return ratio === null || ratio === undefined ? "–" : (100 * ratio).toFixed(1) + "%"; }
function ms(value) { return value === null || value === undefined ? "–" : value.toFixed(1) + " ms"; }
function check(target, name) { return (target.checks || []).find((c) => c.name === name) || {}; }
function appName(name) { return name === "" ? "(no application_name)" : name; }
function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = value;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}
// Seconds as a person reads them: "0.3 s", "4 min 10 s", "3 h 0 min".
function secs(value) {
  if (value === null || value === undefined) return "–";
  const s = Number(value);
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function text(value) { return value === null || value === undefined || value === "" ? "–" : String(value); }
const WRAP_LIMIT = 2147483648;  // 2^31: transaction and multixact IDs wrap around there

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok && response.status !== 503) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function reasonsList(target) {
  const reasons = target.reasons || [];
  if (reasons.length === 0) return el("span", { class: "muted" }, "every check ok");
  return el("ul", { class: "reasons" }, ...reasons.map((r) => el("li", {}, r)));
}

function renderSummary(report, charted) {
  const body = document.querySelector("#summary tbody");
  body.replaceChildren(...report.targets.map((t) => {
    const connections = t.connections
      ? t.connections.used + " / " + t.connections.max + " (" + pct(t.connections.usage_ratio) + ")"
      : t.pools ? t.pools.length + " pools" : "–";
    const link = el("a", { href: "#" + encodeURIComponent(t.name) }, t.name);
    const row = el("tr", { "data-target": t.name },
      el("td", {}, link), el("td", {}, el("span", { class: "badge " + t.status }, t.status)),
      el("td", {}, reasonsList(t)), el("td", {}, connections),
      el("td", {}, ms(t.latency_ms && t.latency_ms.p95)),
      el("td", {}, t.errors ? pct(t.errors.error_ratio) : "–"));
    if (charted.includes(t.name)) row.classList.add("charted");
    return row;
  }));
  const overall = document.getElementById("overall");
  overall.className = "badge " + report.status;
  overall.textContent = report.status;
  document.getElementById("updated").textContent =
    "pgvigil " + report.version + " · updated " + new Date().toLocaleTimeString();
}

// The charts a target gets: [key, title, unit, series (name -> values), threshold line].
function chartSpecs(target, history) {
  const specs = [];
  if (target.kind === "pgbouncer") {
    specs.push(["pool_usage", "Busiest pool: server connections / pool size", "%",
      { "pool usage": history.pool_usage.map((v) => v === null ? null : 100 * v) },
      100 * (check(target, "pool_usage").critical || 0.9)]);
    specs.push(["clients_waiting", "Clients waiting for a server connection", "",
      { "waiting": history.clients_waiting }, null]);
    specs.push(["latency", "SHOW VERSION round trip", "ms", { "probe": history.probe_ms }, null]);
    return specs;
  }
  specs.push(["connection_usage", "Connection usage (of usable slots)", "%",
    { "usage": history.connection_usage.map((v) => v === null ? null : 100 * v) },
    100 * (check(target, "connection_usage").critical || 0.9)]);
  const apps = {};
  for (const [name, values] of Object.entries(history.applications)) apps[appName(name)] = values;
  if (Object.keys(apps).length > 0) {
    specs.push(["applications", "Sessions by application (busiest 5)", "", apps, null]);
  }
  specs.push(["latency", "Latency: SELECT 1 and a new connection", "ms",
    { "SELECT 1": history.probe_ms, "connect": history.connect_ms }, null]);
  specs.push(["error_ratio", "Error ratio (" + (target.errors.error_ratio_source || "no source") +
      ", over the health window)", "%",
    { "errors": history.error_ratio.map((v) => v === null ? null : 100 * v) },
    100 * (check(target, "error_ratio").critical || 0.05)]);
  return specs;
}

function plotOptions(title, unit, names, threshold, width) {
  const series = [{}];
  names.forEach((name, i) => series.push({
    label: name, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false,
    value: (u, v) => v === null ? "–" : v.toFixed(unit === "%" ? 1 : 2) + (unit ? " " + unit : ""),
  }));
  if (threshold !== null) {
    series.push({ label: "alert at " + threshold + (unit ? " " + unit : ""), stroke: "#cf222e",
      width: 1, dash: [6, 4], points: { show: false } });
  }
  return {
    width: width, height: 180, series: series,
    // The last hour, or since the agent started when that is shorter.
    scales: { x: { time: true, range: (u, min, max) => [Math.min(Math.max(min, max - 3600), max - 60), max] },
      y: { range: (u, min, max) =>
      [0, Math.max(threshold !== null ? threshold * 1.1 : 0, max || 1) * 1.05] } },
    axes: [{}, { size: 56, values: (u, ticks) => ticks.map((t) => t + (unit === "%" ? "%" : "")) }],
    legend: { live: true },
  };
}

function drawChart(container, key, spec, history) {
  const [name, title, unit, byName, threshold] = spec;
  const id = key + "/" + name;
  const names = Object.keys(byName);
  const data = [history.t, ...names.map((n) => byName[n])];
  if (threshold !== null) data.push(history.t.map(() => threshold));
  const points = data[1].filter((v) => v !== null && v !== undefined).length;
  let entry = charts.get(id);
  if (entry && entry.names.join("\n") !== names.join("\n")) {
    entry.plot.destroy();
    entry.element.remove();
    charts.delete(id);
    entry = undefined;
  }
  if (!entry) {
    const plotBox = el("div", { class: "plot" });
    const element = el("div", { class: "chart", "data-chart": name }, el("h3", {}, title), plotBox);
    container.append(element);
    const width = Math.max(280, element.clientWidth || 300);
    const plot = new uPlot(plotOptions(title, unit, names, threshold, width), data, plotBox);
    entry = { plot, element, names };
    charts.set(id, entry);
  } else {
    entry.plot.setData(data);
  }
  entry.element.dataset.points = String(points);
}

function statementsTable(target) {
  const top = (target.slow_queries && target.slow_queries.top) || [];
  if (top.length === 0) {
    return el("p", { class: "muted" }, "No statement's mean time is over " +
      target.slow_queries.threshold_ms + " ms in the health window.");
  }
  return el("div", { class: "scroll" }, el("table", { class: "statements" },
    el("thead", {}, el("tr", {}, el("th", {}, "mean"), el("th", {}, "calls"), el("th", {}, "database"),
      el("th", {}, "statement"))),
    el("tbody", {}, ...top.map((s) => el("tr", {}, el("td", {}, ms(s.mean_ms)), el("td", {}, s.calls),
      el("td", {}, s.datname), el("td", { class: "query" }, s.query))))));
}

function recentErrors(target) {
  const recent = ((target.errors && target.errors.recent) || []).slice(0, 5);
  if (recent.length === 0) {
    return el("p", { class: "muted" }, check(target, "log_source").name
      ? "No server error seen lately."
      : "No log source: the agent does not read this server's log (log_source).");
  }
  return el("div", { class: "scroll" }, el("table", { class: "errors" },
    el("thead", {}, el("tr", {}, el("th", {}, "at"), el("th", {}, "SQLSTATE"), el("th", {}, "message"))),
    el("tbody", {}, ...recent.map((e) => el("tr", {}, el("td", {}, e.at), el("td", {}, e.sqlstate),
      el("td", {}, e.message))))));
}

function poolsTable(target) {
  return el("div", { class: "scroll" }, el("table", { class: "pools" },
    el("thead", {}, el("tr", {}, ...["pool", "servers active / pool size", "usage", "clients active",
      "waiting", "max wait"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...(target.pools || []).map((p) => el("tr", {},
      el("td", {}, p.database + "/" + p.user), el("td", {}, p.server_active + " / " + p.pool_size),
      el("td", {}, pct(p.usage_ratio)), el("td", {}, p.client_active),
      el("td", {}, p.client_waiting), el("td", {}, p.max_wait_seconds + " s"))))));
}

function table(cls, headings, rows) {
  return el("div", { class: "scroll" }, el("table", { class: cls },
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c)))))));
}

// Standbys of a primary, the WAL receiver of a standby, and replication slots; nothing when
// /health has no `replication` for the target.
function replicationBlock(target) {
  const r = target.replication;
  if (!r) return null;
  const parts = [el("h3", {}, "Replication"),
    el("p", {}, "Role: ", el("strong", {}, text(r.role)))];
  const standbys = r.standbys || [];
  if (standbys.length > 0) {
    parts.push(table("standbys", ["standby", "client", "state", "sync", "replay lag", "replay lag (bytes)",
      "sent lag (bytes)"], standbys.map((s) => [text(s.name), text(s.client_addr), text(s.state),
      text(s.sync_state), secs(s.lag_seconds && s.lag_seconds.replay),
      bytes(s.lag_bytes && s.lag_bytes.replay), bytes(s.lag_bytes && s.lag_bytes.sent)])));
  } else if (r.role === "primary") {
    parts.push(el("p", { class: "muted" }, "No standby connected."));
  }
  if (r.receiver) {
    const w = r.receiver;
    parts.push(el("p", { class: "receiver" }, "WAL receiver: ",
      el("span", { class: "badge " + (w.streaming ? "ok" : "down") },
        w.streaming ? "streaming" : "not streaming"),
      " " + text(w.status) + " from " + text(w.sender) + "; last message " +
      secs(w.last_message_age_seconds) + " ago; replay lag " + secs(w.replay_lag_seconds) +
      " (" + bytes(w.replay_lag_bytes) + ")"));
  } else if (r.role === "standby") {
    parts.push(el("p", { class: "receiver" }, "WAL receiver: ",
      el("span", { class: "badge down" }, "not running")));
  }
  const slots = r.slots || [];
  if (slots.length > 0) {
    parts.push(table("slots", ["slot", "type", "database", "consumer", "retained WAL", "wal_status",
      "safe WAL"], slots.map((s) => [text(s.name), text(s.type), text(s.database),
      s.active ? "connected" : "none for " + secs(s.inactive_seconds), bytes(s.retained_bytes),
      text(s.wal_status), bytes(s.safe_wal_bytes)])));
  }
  return el("div", { class: "replication" }, ...parts);
}

function holderText(h) {
  const who = {
    transaction: () => "a transaction of pid " + text(h.pid) + " (" + text(h.application) + ", user " +
      text(h.user) + ")",
    prepared_transaction: () => "prepared transaction " + text(h.gid) + " (user " + text(h.user) + ")",
    replication_slot: () => "replication slot " + text(h.slot),
    standby_feedback: () => "standby feedback from " + text(h.application) + " (pid " + text(h.pid) + ")",
  }[h.holder];
  return (who ? who() : text(h.holder)) + ", " + text(h.age) + " transactions back" +
    (h.since ? " since " + h.since : "");
}

// Wraparound, the xmin horizon's holder and the archiver; nothing when /health has no
// `maintenance` for the target.
function maintenanceBlock(target) {
  const m = target.maintenance;
  if (!m) return null;
  const age = (label, a) => a
    ? label + ": " + text(a.age) + " (" + pct(a.ratio !== null && a.ratio !== undefined ? a.ratio
      : a.age / WRAP_LIMIT) + " of the 2^31 limit) in database " + text(a.database)
    : label + ": –";
  const items = [el("li", { class: "xid" }, age("Oldest xid", m.xid_age)),
    el("li", { class: "mxid" }, age("Oldest multixact", m.mxid_age)),
    el("li", { class: "xmin" }, "xmin horizon: ",
      m.xmin_horizon ? "held by " + holderText(m.xmin_horizon) : "nothing holds it back")];
  if (m.archiver) {
    const a = m.archiver;
    items.push(el("li", { class: "archiver" }, "Archiver (archive_mode " + text(a.mode) + "): ",
      el("span", { class: "badge " + (a.failing ? "down" : "ok") }, a.failing ? "failing" : "ok"),
      " " + text(a.archived) + " archived, " + text(a.failed) + " failed, " + text(a.ready_files) +
      " segments waiting" + (a.failing && a.last_failed_wal ? "; last failed " + a.last_failed_wal : "")));
  }
  return el("div", { class: "maintenance" }, el("h3", {}, "Maintenance"),
    el("ul", { class: "facts" }, ...items));
}

async function renderTarget(main, target) {
  const history = await getJson("/history?target=" + encodeURIComponent(target.name));
  const id = "target-" + target.name;
  let section = document.getElementById(id);
  if (!section) {
    section = el("section", { class: "target", id: id },
      el("h2", {}), el("div", { class: "status" }), el("div", { class: "charts" }),
      el("div", { class: "details" }));
    main.append(section);
  }
  const version = target.kind === "pgbouncer" ? "PgBouncer"
    : target.server_version ? "PostgreSQL " + target.server_version : "";
  section.querySelector("h2").replaceChildren(target.name + " ",
    el("span", { class: "badge " + target.status }, target.status),
    el("span", { class: "muted" }, " " + version));
  section.querySelector(".status").replaceChildren(reasonsList(target));
  const box = section.querySelector(".charts");
  for (const spec of chartSpecs(target, history)) drawChart(box, target.name, spec, history);
  const details = target.kind === "pgbouncer"
    ? [el("h3", {}, "Pools"), poolsTable(target)]
    : [replicationBlock(target), maintenanceBlock(target), el("h3", {}, "Slow statements"),
      statementsTable(target), el("h3", {}, "Recent errors"), recentErrors(target)];
  section.querySelector(".details").replaceChildren(...details.filter((d) => d !== null));
}

function chartedTargets(report) {
  const picked = decodeURIComponent(location.hash.slice(1));
  const names = report.targets.map((t) => t.name);
  if (picked && names.includes(picked)) return [picked];
  return names.slice(0, MAX_CHARTED);
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const report = await getJson("/health");
    const charted = chartedTargets(report);
    renderSummary(report, charted);
    const main = document.getElementById("targets");
    for (const section of [...main.children]) {
      if (!charted.includes(section.id.slice("target-".length))) {
        for (const [id, entry] of charts) {
          if (id.startsWith(section.id.slice("target-".length) + "/")) {
            entry.plot.destroy();
            charts.delete(id);
          }
        }
        section.remove();
      }
    }
    for (const target of report.targets.filter((t) => charted.includes(t.name))) {
      await renderTarget(main, target);
    }
    resize();
    error.hidden = true;
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (e) {
    error.textContent = "Cannot reach the agent: " + e.message + " (retrying)";
    error.hidden = false;
  }
}

// Fits every chart to its grid cell (the grid places cells only once they all exist).
function resize() {
  for (const entry of charts.values()) {
    const width = Math.max(280, entry.element.clientWidth);
    if (width !== entry.plot.width) entry.plot.setSize({ width, height: 180 });
  }
}

window.addEventListener("hashchange", refresh);
window.addEventListener("resize", resize);
refresh();
setInterval(refresh, REFRESH_MS);

// The charts, for the browser test to read what they draw.
window.pgvigil = { charts };
