#include "collectors/statements.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <set>

namespace pgvigil::collectors {

StatementsCollector::StatementsCollector(const config::Target& target)
    : top_n_(target.settings.statements_top_n),
      slow_threshold_ms_(static_cast<double>(target.settings.slow_query_threshold.count())),
      exported_(static_cast<std::size_t>(top_n_)),
      texts_(target.settings.housekeeping_statements),
      monitoring_roles_(target.settings.monitoring_roles.begin(),
                        target.settings.monitoring_roles.end()) {}

void StatementsCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  auto& view = context.observations.statements;
  view.available = false;
  const StatementsCatalog catalog = LookUpStatements(session);
  log_now_ms_ = catalog.log_now_ms;
  own_userid_ = catalog.own_userid;
  own_dbid_ = catalog.own_dbid;
  xact_now_ = catalog.transactions;
  view.extension = catalog.extension.has_value();
  if (!catalog.extension) {
    view.unavailable = catalog.why;
    view.window.clear();
    if (was_available_) spdlog::info("target {}: {}", context.target.name, catalog.why);
    was_available_ = false;
    // Counting starts again from the extension's return, with a baseline of its own.
    baseline_done_ = false;
    statements_.clear();
    return;
  }
  const StatementsExtension& extension = *catalog.extension;
  max_ = catalog.max;
  if (!was_available_)
    spdlog::info("target {}: pg_stat_statements is available", context.target.name);
  was_available_ = true;
  view.unavailable.clear();

  bool reset_all = false;
  if (const auto info = ReadStatementsInfo(session, extension)) {
    dealloc_ = info->dealloc;
    reset_all = stats_reset_.has_value() && info->stats_reset != stats_reset_;
    stats_reset_ = info->stats_reset;
  }
  // What the agent ran, read just before and just after the counters (on a shared cluster other
  // targets' workers keep running meanwhile): what it answered before is in this read; what it
  // answered or still ran after may be.
  auto own_load = [&] {
    return context.cluster_own_load ? context.cluster_own_load()
                                    : std::vector<OwnStatements>{{0, own_userid_, own_dbid_,
                                                                  context.own_load.Statements()}};
  };
  std::vector<OwnStatements> own_now = own_load();
  const pg::Rows rows =
      session.Query(StatementsSql(session.ServerVersionNum(), extension.schema, extension.version));
  const std::vector<OwnStatements> own_after = own_load();

  const bool baseline = !baseline_done_;
  Track(session, extension, rows, reset_all);
  UpdateExportedSet(baseline);
  Accumulate(baseline);

  Observations::StatementsDelta step{previous_poll_, context.now, previous_log_ms_, log_now_ms_};
  const auto [housekeeping_transactions, blocks] =
      baseline ? std::pair{0.0, 0.0}
               : SplitByKind(context, session, extension, own_now, own_after, step);
  CountTransactions(context, step, baseline, housekeeping_transactions, blocks);
  for (auto& [key, statement] : statements_) {
    std::erase_if(statement.recent, [&](const auto& entry) {
      return entry.first < context.now - context.health_window;
    });
  }
  attribution_.Remember(own_now, own_after, baseline);
  previous_poll_ = context.now;
  previous_log_ms_ = log_now_ms_;
  baseline_done_ = true;
  if (!baseline) view.window.push_back(step);
  while (!view.window.empty() && view.window.front().at < context.now - context.health_window) {
    view.window.pop_front();
  }

  const std::vector<StatementKey> slowest = Publish(context, out, step);
  texts_.Fetch(session, extension.schema, slowest, statements_);
  for (std::size_t i = 0; i < slowest.size(); ++i) {
    if (const StatementText* text = texts_.Find(slowest[i])) view.top[i].query = text->display;
  }
  texts_.Prune(statements_);
  view.available = true;
}

void StatementsCollector::Track(pg::Session& session, const StatementsExtension& extension,
                                const pg::Rows& rows, bool reset_all) {
  const CountersRead read = ReadCounters(rows, extension.version >= 111);
  tracked_ = static_cast<double>(rows.size());
  // Without stats_reset (12, 13), a full reset shows as most statements counting backwards.
  if (extension.version < 109 && baseline_done_) reset_all = LooksLikeFullReset(read, statements_);
  // Names for oids not seen before.
  const bool need_names = std::any_of(read.current.begin(), read.current.end(), [&](const auto& e) {
    return !statements_.contains(e.first);
  });
  if (need_names) {
    const pg::Rows names = session.Query(kDatabaseAndRoleNamesSql);
    database_names_.clear();
    role_names_.clear();
    for (std::size_t row = 0; row < names.size(); ++row) {
      auto& into = names.Text(row, 0) == "d" ? database_names_ : role_names_;
      into[ToOid(names.Number(row, 1))] = names.Text(row, 2);
    }
  }
  ApplyRead(statements_, read, reset_all, !baseline_done_);
}

void StatementsCollector::Accumulate(bool baseline) {
  for (const auto& [key, statement] : statements_) {
    const StatementCounters& add = baseline ? statement.last : statement.delta;
    StatementCounters* into = nullptr;
    if (auto exported = exported_.members().find(key); exported != exported_.members().end()) {
      if (baseline) continue;  // its total was set from `last` when it joined
      into = &exported->second.value.total;
    } else {
      into = &other_[{DatabaseName(key.dbid), RoleName(key.userid)}];
    }
    into->calls += add.calls;
    into->exec_ms += add.exec_ms;
    into->rows += add.rows;
  }
}

std::pair<double, double> StatementsCollector::SplitByKind(
    CollectContext& context, pg::Session& session, const StatementsExtension& extension,
    std::vector<OwnStatements>& own_now, const std::vector<OwnStatements>& own_after,
    Observations::StatementsDelta& step) {
  const OwnLoadAttribution::TextOf text_of =
      [&](const StatementKey& key) -> std::optional<std::size_t> {
    const StatementText* text = texts_.Find(key);
    if (!text) return std::nullopt;
    return text->fingerprint;
  };
  attribution_.Prepare(own_now, own_after);
  // Texts of the entries that could hold the agent's statements and are not known yet.
  texts_.Fetch(session, extension.schema, attribution_.Candidates(statements_, text_of),
               statements_);
  const auto unmatched = attribution_.Attribute(statements_, text_of, own_now);
  // Texts of the busiest statements not yet classified.
  std::vector<std::pair<double, StatementKey>> busiest;
  for (const auto& [key, statement] : statements_) {
    if (key.queryid == kHiddenQueryId || texts_.Find(key)) continue;
    const double others = statement.delta.calls - statement.own_delta.calls;
    if (others > 0) busiest.emplace_back(others, key);
  }
  std::sort(busiest.begin(), busiest.end(), std::greater<>());
  std::vector<StatementKey> wanted;
  for (const auto& [count, key] : busiest) wanted.push_back(key);
  texts_.Fetch(session, extension.schema, wanted, statements_);

  double housekeeping_transactions = 0;
  double blocks = 0;
  for (auto& [key, statement] : statements_) {
    const StatementCounters& d = statement.delta;
    const StatementCounters& own = statement.own_delta;
    step.agent_calls += own.calls;
    step.agent_ms += own.exec_ms;
    if (monitoring_roles_.contains(RoleName(key.userid))) {
      // Another monitoring tool's statements count with the agent's own: never the work.
      step.agent_calls += d.calls - own.calls;
      step.agent_ms += d.exec_ms - own.exec_ms;
      continue;
    }
    const StatementText* text = texts_.Find(key);
    const bool housekeeping = text && text->housekeeping;
    (housekeeping ? step.housekeeping_calls : step.work_calls) += d.calls - own.calls;
    if (housekeeping) housekeeping_transactions += (d.calls - own.calls) * text->transactions;
    if (text && text->opens_block) blocks += d.calls - own.calls;
    (housekeeping ? step.housekeeping_ms : step.work_ms) += d.exec_ms - own.exec_ms;
    const StatementCounters others{d.calls - own.calls, d.exec_ms - own.exec_ms, d.rows - own.rows};
    if (others.calls > 0) statement.recent.emplace_back(context.now, others);
  }
  // The agent's statements whose entry was not found are still the agent's, not work.
  const double take_calls = std::min(unmatched.calls, step.work_calls);
  const double take_ms = std::min(unmatched.ms, step.work_ms);
  step.work_calls -= take_calls;
  step.work_ms -= take_ms;
  step.agent_calls += take_calls;
  step.agent_ms += take_ms;
  return {housekeeping_transactions, blocks};
}

const std::string& StatementsCollector::DatabaseName(std::uint32_t oid) const {
  static const std::string kUnknown;
  const auto it = database_names_.find(oid);
  return it == database_names_.end() ? kUnknown : it->second;
}

const std::string& StatementsCollector::RoleName(std::uint32_t oid) const {
  static const std::string kUnknown;
  const auto it = role_names_.find(oid);
  return it == role_names_.end() ? kUnknown : it->second;
}
void StatementsCollector::CountTransactions(CollectContext& context,
                                            Observations::StatementsDelta& step, bool baseline,
                                            double housekeeping, double blocks) {
  if (!xact_now_) {
    xact_before_.reset();
    return;
  }
  // pg_stat_database's deltas over the same interval as the statements' (read in this poll's
  // catalog lookup), the agent's own transactions taken out.
  const DatabaseTransactions now = *xact_now_;
  if (baseline || !xact_before_) {
    (void)own_transactions_.Take(context.own_load, context.now, 0, 0);
    xact_before_ = now;
    return;
  }
  auto delta = [](double value, double before) { return value >= before ? value - before : value; };
  const double commits = delta(now.commits, xact_before_->commits);
  const double rollbacks = delta(now.rollbacks, xact_before_->rollbacks);
  xact_before_ = now;
  const auto own = own_transactions_.Take(context.own_load, context.now, commits, rollbacks);
  transactions_.agent += own.commits + own.rollbacks;
  transactions_.agent_rollbacks += own.rollbacks;
  transactions_.all += commits + rollbacks - own.commits - own.rollbacks;
  transactions_.rollbacks += rollbacks - own.rollbacks;
  transactions_.housekeeping += housekeeping;
  transactions_.blocks += blocks;
  // The application's transactions: all but the agent's and the pools' housekeeping, at least
  // the transaction blocks the application opened. pg_stat_database shows a transaction up to
  // a flush later than pg_stat_statements its statements, so a poll may see the housekeeping
  // before its transactions: kept as a running total that never goes back, which catches up as
  // the counts show.
  const double work =
      std::max(transactions_.all - transactions_.housekeeping, transactions_.blocks);
  const double before = transactions_.work;
  transactions_.work = std::max(transactions_.work, work);
  step.has_transactions = true;
  step.transactions = transactions_.work - before;
  step.rollbacks = rollbacks - own.rollbacks;
}

void StatementsCollector::UpdateExportedSet(bool baseline) {
  std::vector<std::pair<double, StatementKey>> ranked;
  for (const auto& [key, statement] : statements_) {
    const double rank = baseline ? statement.last.exec_ms : statement.score;
    if (key.queryid != kHiddenQueryId && (baseline || rank > 0)) ranked.emplace_back(rank, key);
  }
  const std::set<StatementKey> in_top =
      TopKeys(std::move(ranked), static_cast<std::size_t>(top_n_),
              [](const auto& a, const auto& b) { return a.first > b.first; });
  exported_.Update(
      in_top,
      [&](const StatementKey& key) {
        const TrackedStatement& statement = statements_.at(key);
        return Exported{baseline ? statement.last : StatementCounters{}, DatabaseName(key.dbid),
                        RoleName(key.userid)};
      },
      [&](const StatementKey&, const Exported& leaving) {
        StatementCounters& other = other_[{leaving.datname, leaving.user}];
        other.calls += leaving.total.calls;
        other.exec_ms += leaving.total.exec_ms;
        other.rows += leaving.total.rows;
      });
}

}  // namespace pgvigil::collectors
