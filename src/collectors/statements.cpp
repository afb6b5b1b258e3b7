#include "collectors/statements.h"

#include <algorithm>
#include <limits>
#include <set>

namespace pgvigil::collectors {
namespace {

// Share of the previous score kept each poll: a statement's rank follows its last few minutes.
constexpr double kScoreDecay = 0.7;
// The statement whose queryid the role may not see (NULL): never exported on its own.
constexpr std::int64_t kHiddenQueryId = std::numeric_limits<std::int64_t>::min();
constexpr std::size_t kTextLength = 200;
constexpr std::size_t kTextsPerPoll = 500;
constexpr std::size_t kTopSlow = 10;
constexpr std::string_view kOwnMarker = "/* pgvigil */";

const std::set<std::string> kMissingExtension = {"42883", "42P01", "55000"};

std::uint32_t ToOid(const std::optional<double>& value) {
  return value ? static_cast<std::uint32_t>(*value) : 0;
}

}  // namespace

std::string StatementsSql(int server_version_num) {
  const char* exec = server_version_num >= 130000 ? "total_exec_time" : "total_time";
  return std::string("SELECT userid, dbid, queryid, calls, ") + exec +
         " AS exec_ms, rows FROM pg_stat_statements(false)";
}

StatementsCollector::StatementsCollector(const config::Target& target)
    : top_n_(target.settings.statements_top_n),
      slow_threshold_ms_(static_cast<double>(target.settings.slow_query_threshold.count())) {}

void StatementsCollector::ReadInfo(pg::Session& session, bool& reset_all) {
  const int version = session.ServerVersionNum();
  std::string sql =
      "SELECT current_setting('pg_stat_statements.max', true) AS max, "
      "(SELECT oid FROM pg_roles WHERE rolname = current_user) AS own_userid, "
      "(SELECT oid FROM pg_database WHERE datname = current_database()) AS own_dbid";
  if (version >= 140000) sql += ", dealloc, stats_reset FROM pg_stat_statements_info";
  const pg::Rows info = session.Query(sql);
  if (info.empty()) throw pg::Error(pg::ErrorKind::kQuery, "pg_stat_statements_info is empty");
  max_ = info.Number(0, info.Column("max"));
  own_userid_ = ToOid(info.Number(0, info.Column("own_userid")));
  own_dbid_ = ToOid(info.Number(0, info.Column("own_dbid")));
  if (version >= 140000) {
    dealloc_ = info.Number(0, info.Column("dealloc"));
    auto reset = info.At(0, info.Column("stats_reset"));
    reset_all = stats_reset_.has_value() && reset != stats_reset_;
    stats_reset_ = reset;
  }
}

void StatementsCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  auto& view = context.observations.statements;
  view.available = false;
  bool reset_all = false;
  pg::Rows rows;
  try {
    ReadInfo(session, reset_all);
    rows = session.Query(StatementsSql(session.ServerVersionNum()));
  } catch (const pg::Error& error) {
    if (!kMissingExtension.contains(error.sqlstate())) throw;
    context.observations.capabilities.pg_stat_statements = false;
    throw pg::Error(pg::ErrorKind::kQuery,
                    "pg_stat_statements is not available in the monitored database (" +
                        std::string(error.what()) +
                        "); CREATE EXTENSION pg_stat_statements, with the library in "
                        "shared_preload_libraries");
  }
  context.observations.capabilities.pg_stat_statements = true;

  // Sum rows of one key: on 14+ a statement can appear as top-level and as nested.
  std::map<Key, Counters> current;
  const std::size_t userid = rows.Column("userid");
  const std::size_t dbid = rows.Column("dbid");
  const std::size_t queryid = rows.Column("queryid");
  const std::size_t calls = rows.Column("calls");
  const std::size_t exec_ms = rows.Column("exec_ms");
  const std::size_t row_count = rows.Column("rows");
  for (std::size_t row = 0; row < rows.size(); ++row) {
    Key key{ToOid(rows.Number(row, userid)), ToOid(rows.Number(row, dbid)), kHiddenQueryId};
    if (const auto& id = rows.At(row, queryid)) key.queryid = std::stoll(*id);
    Counters& sum = current[key];
    sum.calls += rows.Number(row, calls).value_or(0);
    sum.exec_ms += rows.Number(row, exec_ms).value_or(0);
    sum.rows += rows.Number(row, row_count).value_or(0);
  }
  tracked_ = static_cast<double>(rows.size());

  // Names for oids not seen before.
  std::map<std::uint32_t, std::string> databases;
  std::map<std::uint32_t, std::string> roles;
  const bool need_names = std::any_of(current.begin(), current.end(), [&](const auto& entry) {
    return !statements_.contains(entry.first);
  });
  if (need_names) {
    const pg::Rows names = session.Query(
        "SELECT 'd' AS kind, oid, datname AS name FROM pg_database "
        "UNION ALL SELECT 'r', oid, rolname FROM pg_roles");
    for (std::size_t row = 0; row < names.size(); ++row) {
      auto& into = names.Text(row, 0) == "d" ? databases : roles;
      into[ToOid(names.Number(row, 1))] = names.Text(row, 2);
    }
  }

  const bool baseline = !baseline_done_;
  for (auto it = statements_.begin(); it != statements_.end();) {
    it = current.contains(it->first) ? std::next(it) : statements_.erase(it);  // evicted
  }
  for (const auto& [key, now] : current) {
    auto [it, is_new] = statements_.try_emplace(key);
    Statement& statement = it->second;
    if (is_new) {
      statement.datname = databases[key.dbid];
      statement.user = roles[key.userid];
    }
    if (baseline) {
      statement.delta = {};
    } else if (is_new || reset_all || now.calls < statement.last.calls ||
               now.exec_ms < statement.last.exec_ms || now.rows < statement.last.rows) {
      statement.delta = now;  // everything it has counted is new since the last poll
    } else {
      statement.delta = {now.calls - statement.last.calls, now.exec_ms - statement.last.exec_ms,
                         now.rows - statement.last.rows};
    }
    statement.last = now;
    statement.score = statement.score * kScoreDecay + statement.delta.exec_ms;
    if (statement.delta.calls > 0) statement.recent.emplace_back(context.now, statement.delta);
    std::erase_if(statement.recent, [&](const auto& step) {
      return step.first < context.now - context.health_window;
    });
  }

  UpdateExportedSet(baseline);
  for (const auto& [key, statement] : statements_) {
    const Counters& add = baseline ? statement.last : statement.delta;
    Counters* into = nullptr;
    if (auto exported = exported_.find(key); exported != exported_.end()) {
      if (baseline) continue;  // its total was set from `last` when it joined
      into = &exported->second.total;
    } else {
      into = &other_[{statement.datname, statement.user}];
    }
    into->calls += add.calls;
    into->exec_ms += add.exec_ms;
    into->rows += add.rows;
  }
  baseline_done_ = true;

  // Texts: to recognise the agent's own statements, and for the slowest ones /health lists.
  std::vector<Key> wanted;
  for (const auto& [key, statement] : statements_) {
    if (!statement.own && key.userid == own_userid_ && key.dbid == own_dbid_ &&
        key.queryid != kHiddenQueryId) {
      wanted.push_back(key);
    }
  }
  FetchTexts(session, wanted);
  for (auto& [key, statement] : statements_) {
    if (statement.own) continue;
    if (key.userid != own_userid_ || key.dbid != own_dbid_) {
      statement.own = false;
    } else if (auto text = texts_.find(key); text != texts_.end()) {
      statement.own = text->second.starts_with(kOwnMarker);
    }
  }
  const std::vector<Key> slowest = Publish(context, out);
  FetchTexts(session, slowest);
  for (std::size_t i = 0; i < slowest.size(); ++i) view.top[i].query = texts_[slowest[i]];
  // Only texts of statements still tracked are kept: the cache is bounded like the view.
  for (auto it = texts_.begin(); it != texts_.end();) {
    it = statements_.contains(it->first) ? std::next(it) : texts_.erase(it);
  }
  view.available = true;
}

void StatementsCollector::UpdateExportedSet(bool baseline) {
  std::vector<std::pair<double, Key>> ranked;
  for (const auto& [key, statement] : statements_) {
    const double rank = baseline ? statement.last.exec_ms : statement.score;
    if (key.queryid != kHiddenQueryId && (baseline || rank > 0)) ranked.emplace_back(rank, key);
  }
  const auto top = std::min<std::size_t>(ranked.size(), static_cast<std::size_t>(top_n_));
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(top), ranked.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::set<Key> in_top;
  for (std::size_t i = 0; i < top; ++i) in_top.insert(ranked[i].second);

  auto fold = [&](std::map<Key, Exported>::iterator it) {
    Counters& other = other_[{it->second.datname, it->second.user}];
    other.calls += it->second.total.calls;
    other.exec_ms += it->second.total.exec_ms;
    other.rows += it->second.total.rows;
    return exported_.erase(it);
  };
  for (auto it = exported_.begin(); it != exported_.end();) {
    if (in_top.contains(it->first)) {
      it->second.polls_outside_top = 0;
      ++it;
    } else if (++it->second.polls_outside_top > kHysteresisPolls) {
      it = fold(it);
    } else {
      ++it;
    }
  }
  for (const Key& key : in_top) {
    if (exported_.contains(key)) continue;
    const Statement& statement = statements_.at(key);
    exported_[key] = {baseline ? statement.last : Counters{}, statement.datname, statement.user, 0};
  }
  // Bound the series: at most twice top_n, dropping those longest out of the top first.
  while (exported_.size() > 2 * static_cast<std::size_t>(top_n_)) {
    auto oldest =
        std::max_element(exported_.begin(), exported_.end(), [](const auto& a, const auto& b) {
          return a.second.polls_outside_top < b.second.polls_outside_top;
        });
    fold(oldest);
  }
}

void StatementsCollector::FetchTexts(pg::Session& session, const std::vector<Key>& wanted) {
  std::string ids;
  std::size_t count = 0;
  for (const Key& key : wanted) {
    if (texts_.contains(key) || count >= kTextsPerPoll) continue;
    ids += (ids.empty() ? "" : ",") + std::to_string(key.queryid);
    ++count;
  }
  if (ids.empty()) return;
  // One array constant, so this statement keeps one queryid however many ids it asks for.
  const pg::Rows rows = session.Query(
      "SELECT userid, dbid, queryid, left(query, " + std::to_string(kTextLength) +
      ") AS query FROM pg_stat_statements(true) WHERE queryid = ANY('{" + ids + "}'::bigint[])");
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const auto& id = rows.At(row, 2);
    if (!id) continue;
    Key key{ToOid(rows.Number(row, 0)), ToOid(rows.Number(row, 1)), std::stoll(*id)};
    texts_[key] = rows.Text(row, 3);
  }
  for (const Key& key : wanted) texts_.try_emplace(key);  // not returned: do not ask again
}

std::vector<StatementsCollector::Key> StatementsCollector::Publish(CollectContext& context,
                                                                   metrics::FamilySet& out) {
  for (const auto& [key, series] : exported_) {
    const metrics::Labels labels{{"datname", series.datname},
                                 {"user", series.user},
                                 {"queryid", std::to_string(key.queryid)}};
    out.Counter("pg_stat_statements_calls_total",
                "Statement executions (top N, and the rest as "
                "queryid=\"other\").",
                labels, series.total.calls);
    out.Counter("pg_stat_statements_seconds_total", "Statement execution time, in seconds.", labels,
                series.total.exec_ms / 1000);
    out.Counter("pg_stat_statements_rows_total", "Rows returned or affected by statements.", labels,
                series.total.rows);
  }
  for (const auto& [names, totals] : other_) {
    const metrics::Labels labels{
        {"datname", names.first}, {"user", names.second}, {"queryid", "other"}};
    out.Counter("pg_stat_statements_calls_total", "", labels, totals.calls);
    out.Counter("pg_stat_statements_seconds_total", "", labels, totals.exec_ms / 1000);
    out.Counter("pg_stat_statements_rows_total", "", labels, totals.rows);
  }

  // Slow statements, the agent's own left out: by the last interval for the gauge, by the
  // health window for /health.
  double slow_last_interval = 0;
  Observations::StatementsDelta window_step{context.now, 0, 0};
  std::vector<std::pair<Key, Observations::SlowStatement>> slow;
  std::size_t over_threshold = 0;
  for (const auto& [key, statement] : statements_) {
    if (statement.own.value_or(false)) continue;
    const Counters& d = statement.delta;
    if (d.calls > 0 && d.exec_ms / d.calls > slow_threshold_ms_) slow_last_interval += 1;
    window_step.calls += d.calls;
    window_step.exec_ms += d.exec_ms;
    Counters window;
    for (const auto& [at, step] : statement.recent) {
      window.calls += step.calls;
      window.exec_ms += step.exec_ms;
    }
    if (window.calls <= 0 || window.exec_ms / window.calls <= slow_threshold_ms_) continue;
    ++over_threshold;
    slow.push_back(
        {key,
         {key.queryid == kHiddenQueryId ? "" : std::to_string(key.queryid), statement.datname,
          statement.user, window.calls, window.exec_ms / window.calls, ""}});
  }
  std::sort(slow.begin(), slow.end(),
            [](const auto& a, const auto& b) { return a.second.mean_ms > b.second.mean_ms; });
  if (slow.size() > kTopSlow) slow.resize(kTopSlow);
  out.Gauge("pg_stat_statements_slow_statements",
            "Statements whose mean execution time over the last interval exceeded "
            "slow_query_threshold.",
            {}, slow_last_interval);
  out.Gauge("pg_stat_statements_tracked", "Entries in pg_stat_statements.", {}, tracked_);
  if (max_) {
    out.Gauge("pg_stat_statements_max", "pg_stat_statements.max: entries it can hold.", {}, *max_);
  }
  if (dealloc_) {
    out.Counter("pg_stat_statements_dealloc_total",
                "Times pg_stat_statements evicted its least-used entries (PostgreSQL 14+).", {},
                *dealloc_);
  }

  auto& view = context.observations.statements;
  view.window.push_back(window_step);
  while (!view.window.empty() && view.window.front().at < context.now - context.health_window) {
    view.window.pop_front();
  }
  view.over_threshold = over_threshold;
  view.top.clear();
  std::vector<Key> keys;
  for (auto& [key, statement] : slow) {
    keys.push_back(key);
    view.top.push_back(std::move(statement));
  }
  return keys;
}

}  // namespace pgvigil::collectors
