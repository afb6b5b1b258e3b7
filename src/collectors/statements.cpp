#include "collectors/statements.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

namespace pgvigil::collectors {
namespace {

// Share of the previous score kept each poll: a statement's rank follows its last few minutes.
constexpr double kScoreDecay = 0.7;
// The statement whose queryid the role may not see (NULL): never exported on its own.
constexpr std::int64_t kHiddenQueryId = std::numeric_limits<std::int64_t>::min();
constexpr std::size_t kDisplayLength = 200;
// Enough to fingerprint any statement of the agent's; longer texts never match one.
constexpr std::size_t kMatchLength = 4096;
constexpr std::size_t kTopSlow = 10;

std::uint32_t ToOid(const std::optional<double>& value) {
  return value ? static_cast<std::uint32_t>(*value) : 0;
}

// "1.10" -> 110.
int ExtensionVersion(const std::string& text) {
  const auto dot = text.find('.');
  try {
    const int major = std::stoi(text.substr(0, dot));
    const int minor = dot == std::string::npos ? 0 : std::stoi(text.substr(dot + 1));
    return major * 100 + minor;
  } catch (const std::exception&) {
    return 0;
  }
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (const char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::size_t Hash(const std::string& text) { return std::hash<std::string>{}(text); }

// Whether an entry's counters went backwards (reset, or evicted and created again). Calls and
// rows are whole numbers, exact in a double. Execution time is not: a key that sums several
// rows (a statement both top-level and nested, or every statement of a role this one may not
// see) adds them in whatever order the server returns them, and the last bits of the sum
// differ from poll to poll. Such noise is not a reset; taking it for one would count the
// entry's whole history again.
template <typename Counters>
bool CountedBackwards(const Counters& now, const Counters& last) {
  const double noise = 1e-9 * std::abs(last.exec_ms) + 1e-6;
  return now.calls < last.calls || now.rows < last.rows || now.exec_ms < last.exec_ms - noise;
}

bool StartsWithWords(const std::string& fingerprint, std::string_view words) {
  return fingerprint.starts_with(words) &&
         (fingerprint.size() == words.size() || fingerprint[words.size()] == ' ' ||
          fingerprint[words.size()] == ';');
}

// Whether a statement opens a transaction block: the block is one transaction, however many
// statements it holds.
bool OpensBlock(const std::string& fingerprint) {
  return StartsWithWords(fingerprint, "begin") || StartsWithWords(fingerprint, "start transaction");
}

// Transactions of its own that one call of a housekeeping statement is, by what the statement
// is: none for transaction control (it runs inside, or ends, a transaction block the
// application opened) and for what has effect only inside a block (SET LOCAL, SET TRANSACTION,
// SET CONSTRAINTS); one for the rest. DISCARD ALL cannot run inside a block, so that one is
// exact; a validation SELECT 1, SET, RESET, SHOW, DEALLOCATE, UNLISTEN or CLOSE ALL is taken to
// run outside the application's transactions, as pools send them (before a checkout, after a
// release): one sent inside a block is counted as a transaction it was not (docs/metrics.md).
double TransactionsPerCall(const std::string& fingerprint) {
  if (StartsWithWords(fingerprint, "commit prepared") ||
      StartsWithWords(fingerprint, "rollback prepared")) {
    return 1;  // runs outside any block, as a transaction of its own
  }
  for (const std::string_view control :
       {"begin", "start transaction", "commit", "end", "rollback", "abort", "savepoint", "release",
        "prepare transaction", "set local", "set transaction", "set constraints"}) {
    if (StartsWithWords(fingerprint, control)) return 0;
  }
  return 1;
}

}  // namespace

std::map<std::uint64_t, std::map<std::string, double>> StatementsCollector::AnsweredDuring(
    const std::vector<OwnStatements>& before, const std::vector<OwnStatements>& after) {
  std::map<std::uint64_t, std::map<std::string, double>> extras;
  for (const OwnStatements& later : after) {
    const auto earlier = std::find_if(before.begin(), before.end(), [&](const OwnStatements& own) {
      return own.member == later.member;
    });
    if (earlier == before.end()) continue;  // joined meanwhile: all it ran is uncertain anyway
    for (const auto& [fingerprint, counts] : later.statements) {
      const auto it = earlier->statements.find(fingerprint);
      const double answered =
          it == earlier->statements.end() ? 0.0 : static_cast<double>(it->second.ok);
      const double extra = static_cast<double>(counts.ok + counts.in_flight) - answered;
      if (extra > 0) extras[later.member][fingerprint] = extra;
    }
  }
  return extras;
}

std::string StatementsSql(int server_version_num, const std::string& schema,
                          int extension_version) {
  const char* exec = server_version_num >= 130000 ? "total_exec_time" : "total_time";
  const std::string since = extension_version >= 111 ? ", stats_since" : "";
  return std::string("SELECT userid, dbid, queryid, calls, ") + exec + " AS exec_ms, rows" + since +
         " FROM " + schema + "pg_stat_statements(false)";
}

StatementsCollector::StatementsCollector(const config::Target& target)
    : top_n_(target.settings.statements_top_n),
      slow_threshold_ms_(static_cast<double>(target.settings.slow_query_threshold.count())) {
  for (std::string statement : target.settings.housekeeping_statements) {
    const bool prefix = statement.ends_with(" *");
    if (prefix) statement.resize(statement.size() - 2);
    housekeeping_.push_back({pg::Fingerprint(statement), prefix});
  }
}

bool StatementsCollector::IsHousekeeping(const std::string& fingerprint) const {
  return std::any_of(housekeeping_.begin(), housekeeping_.end(), [&](const Pattern& pattern) {
    return fingerprint == pattern.fingerprint ||
           (pattern.prefix && fingerprint.starts_with(pattern.fingerprint + " "));
  });
}

std::optional<StatementsCollector::Extension> StatementsCollector::Detect(pg::Session& session,
                                                                          std::string& why) {
  // Catalog lookups only: nothing here can fail on a server without the extension.
  const pg::Rows rows = session.Query(
      "SELECT (SELECT oid FROM pg_roles WHERE rolname = current_user) AS own_userid, "
      "(SELECT oid FROM pg_database WHERE datname = current_database()) AS own_dbid, "
      "current_setting('pg_stat_statements.max', true) AS max, "
      "(SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
      "WHERE e.extname = 'pg_stat_statements') AS schema, "
      "(SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS version, "
      "(date_part('epoch', clock_timestamp() AT TIME ZONE current_setting('log_timezone')) * "
      "1000)::bigint AS log_now, "
      "(SELECT sum(xact_commit) FROM pg_stat_database) AS xact_commit, "
      "(SELECT sum(xact_rollback) FROM pg_stat_database) AS xact_rollback");
  if (rows.empty()) throw pg::Error(pg::ErrorKind::kQuery, "the catalog lookup returned no row");
  log_now_ms_ = static_cast<std::int64_t>(rows.Number(0, rows.Column("log_now")).value_or(0));
  own_userid_ = ToOid(rows.Number(0, rows.Column("own_userid")));
  own_dbid_ = ToOid(rows.Number(0, rows.Column("own_dbid")));
  xact_now_.reset();
  const auto commit = rows.FindColumn("xact_commit");
  const auto rollback = rows.FindColumn("xact_rollback");
  if (commit && rollback) {
    const auto commits = rows.Number(0, *commit);
    const auto rollbacks = rows.Number(0, *rollback);
    if (commits && rollbacks) xact_now_ = Transactions{*commits, *rollbacks};
  }
  const auto& schema = rows.At(0, rows.Column("schema"));
  const auto& max = rows.At(0, rows.Column("max"));
  if (!schema) {
    why =
        "pg_stat_statements is not installed in the monitored database "
        "(CREATE EXTENSION pg_stat_statements)";
    return std::nullopt;
  }
  if (!max) {
    why =
        "pg_stat_statements is installed but its library is not loaded (add it to "
        "shared_preload_libraries and restart the server)";
    return std::nullopt;
  }
  max_ = rows.Number(0, rows.Column("max"));
  return Extension{QuoteIdentifier(*schema) + ".",
                   ExtensionVersion(rows.Text(0, rows.Column("version")))};
}

bool StatementsCollector::ReadInfo(pg::Session& session, const Extension& extension) {
  // pg_stat_statements_info exists from extension version 1.9 (PostgreSQL 14).
  if (extension.version < 109) return false;
  const pg::Rows info = session.Query("SELECT dealloc, stats_reset FROM " + extension.schema +
                                      "pg_stat_statements_info");
  if (info.empty()) return false;
  dealloc_ = info.Number(0, info.Column("dealloc"));
  const auto reset = info.At(0, info.Column("stats_reset"));
  const bool reset_all = stats_reset_.has_value() && reset != stats_reset_;
  stats_reset_ = reset;
  return reset_all;
}

void StatementsCollector::Collect(CollectContext& context, metrics::FamilySet& out) {
  pg::Session& session = *context.session;
  auto& view = context.observations.statements;
  view.available = false;
  std::string why;
  const auto extension = Detect(session, why);
  context.observations.capabilities.pg_stat_statements = extension.has_value();
  if (!extension) {
    view.unavailable = why;
    view.window.clear();
    if (was_available_) spdlog::info("target {}: {}", context.target.name, why);
    was_available_ = false;
    // Counting starts again from the extension's return, with a baseline of its own.
    baseline_done_ = false;
    statements_.clear();
    return;
  }
  if (!was_available_)
    spdlog::info("target {}: pg_stat_statements is available", context.target.name);
  was_available_ = true;
  view.unavailable.clear();

  bool reset_all = ReadInfo(session, *extension);
  // What the agent ran up to this read: everything it counts, and nothing after it.
  // What the agent ran, read just before and just after the counters (on a shared cluster other
  // targets' workers keep running meanwhile): what it answered before is in this read; what it
  // answered or still ran after may be.
  auto own_load = [&] {
    return context.cluster_own_load ? context.cluster_own_load()
                                    : std::vector<OwnStatements>{{0, own_userid_, own_dbid_,
                                                                  context.own_load.Statements()}};
  };
  std::vector<OwnStatements> own_now = own_load();
  const pg::Rows rows = session.Query(
      StatementsSql(session.ServerVersionNum(), extension->schema, extension->version));
  const std::vector<OwnStatements> own_after = own_load();

  // Sum rows of one key: on 14+ a statement can appear as top-level and as nested.
  std::map<Key, Counters> current;
  std::map<Key, std::string> since;  // PostgreSQL 17+: when each entry was (re)created
  std::set<Key> summed;              // keys that add up several rows
  const std::size_t userid = rows.Column("userid");
  const std::size_t dbid = rows.Column("dbid");
  const std::size_t queryid = rows.Column("queryid");
  const std::size_t calls = rows.Column("calls");
  const std::size_t exec_ms = rows.Column("exec_ms");
  const std::size_t row_count = rows.Column("rows");
  const bool has_since = extension->version >= 111;
  const std::size_t stats_since = has_since ? rows.Column("stats_since") : 0;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    Key key{ToOid(rows.Number(row, userid)), ToOid(rows.Number(row, dbid)), kHiddenQueryId};
    if (const auto& id = rows.At(row, queryid)) key.queryid = std::stoll(*id);
    auto [entry, first] = current.try_emplace(key);
    if (!first || key.queryid == kHiddenQueryId) summed.insert(key);
    Counters& sum = entry->second;
    sum.calls += rows.Number(row, calls).value_or(0);
    sum.exec_ms += rows.Number(row, exec_ms).value_or(0);
    sum.rows += rows.Number(row, row_count).value_or(0);
    if (has_since) {
      // Of the rows summed into a key, the newest creation time (one row recreated is enough).
      if (const auto& created = rows.At(row, stats_since)) {
        auto& newest = since[key];
        newest = std::max(newest, *created);
      }
    }
  }
  tracked_ = static_cast<double>(rows.size());

  // Without stats_reset (12, 13), a full reset shows as most statements counting backwards.
  if (extension->version < 109 && baseline_done_) {
    std::size_t common = 0;
    std::size_t backwards = 0;
    for (const auto& [key, now] : current) {
      auto it = statements_.find(key);
      if (it == statements_.end()) continue;
      ++common;
      if (now.calls < it->second.last.calls) ++backwards;
    }
    reset_all = backwards > 0 && 2 * backwards >= common;
  }

  // Names for oids not seen before.
  const bool need_names = std::any_of(current.begin(), current.end(), [&](const auto& entry) {
    return !statements_.contains(entry.first);
  });
  if (need_names) {
    const pg::Rows names = session.Query(
        "SELECT 'd' AS kind, oid, datname AS name FROM pg_database "
        "UNION ALL SELECT 'r', oid, rolname FROM pg_roles");
    database_names_.clear();
    role_names_.clear();
    for (std::size_t row = 0; row < names.size(); ++row) {
      auto& into = names.Text(row, 0) == "d" ? database_names_ : role_names_;
      into[ToOid(names.Number(row, 1))] = names.Text(row, 2);
    }
  }
  for (auto it = statements_.begin(); it != statements_.end();) {
    it = current.contains(it->first) ? std::next(it) : statements_.erase(it);  // evicted
  }
  std::set<Key> added;
  for (const auto& [key, now] : current) {
    auto [it, is_new] = statements_.try_emplace(key);
    if (is_new) added.insert(key);
  }

  const bool baseline = !baseline_done_;
  ComputeDeltas(current, since, added, summed, reset_all, baseline);
  UpdateExportedSet(baseline);
  for (const auto& [key, statement] : statements_) {
    const Counters& add = baseline ? statement.last : statement.delta;
    Counters* into = nullptr;
    if (auto exported = exported_.find(key); exported != exported_.end()) {
      if (baseline) continue;  // its total was set from `last` when it joined
      into = &exported->second.total;
    } else {
      into = &other_[{DatabaseName(key.dbid), RoleName(key.userid)}];
    }
    into->calls += add.calls;
    into->exec_ms += add.exec_ms;
    into->rows += add.rows;
  }

  Observations::StatementsDelta step{previous_poll_, context.now, previous_log_ms_, log_now_ms_};
  double housekeeping_transactions = 0;
  double blocks = 0;
  if (!baseline) {
    double unmatched_calls = 0;
    double unmatched_ms = 0;
    AttributeOwn(session, *extension, own_now, own_after, unmatched_calls, unmatched_ms);
    // Texts of the busiest statements not yet classified.
    std::vector<std::pair<double, Key>> busiest;
    for (const auto& [key, statement] : statements_) {
      if (key.queryid == kHiddenQueryId || texts_.contains(key)) continue;
      const double others = statement.delta.calls - statement.own_delta.calls;
      if (others > 0) busiest.emplace_back(others, key);
    }
    std::sort(busiest.begin(), busiest.end(), std::greater<>());
    std::vector<Key> wanted;
    for (const auto& [count, key] : busiest) wanted.push_back(key);
    FetchTexts(session, *extension, wanted);

    for (auto& [key, statement] : statements_) {
      const Counters& d = statement.delta;
      const Counters& own = statement.own_delta;
      step.agent_calls += own.calls;
      step.agent_ms += own.exec_ms;
      const auto text = texts_.find(key);
      const bool housekeeping = text != texts_.end() && text->second.housekeeping;
      (housekeeping ? step.housekeeping_calls : step.work_calls) += d.calls - own.calls;
      if (housekeeping)
        housekeeping_transactions += (d.calls - own.calls) * text->second.transactions;
      if (text != texts_.end() && text->second.opens_block) blocks += d.calls - own.calls;
      (housekeeping ? step.housekeeping_ms : step.work_ms) += d.exec_ms - own.exec_ms;
      const Counters others{d.calls - own.calls, d.exec_ms - own.exec_ms, d.rows - own.rows};
      if (others.calls > 0) statement.recent.emplace_back(context.now, others);
    }
    // The agent's statements whose entry was not found are still the agent's, not work.
    const double take_calls = std::min(unmatched_calls, step.work_calls);
    const double take_ms = std::min(unmatched_ms, step.work_ms);
    step.work_calls -= take_calls;
    step.work_ms -= take_ms;
    step.agent_calls += take_calls;
    step.agent_ms += take_ms;
  }
  CountTransactions(context, step, baseline, housekeeping_transactions, blocks);
  for (auto& [key, statement] : statements_) {
    std::erase_if(statement.recent, [&](const auto& entry) {
      return entry.first < context.now - context.health_window;
    });
  }
  // What the agent answered or ran while the baseline was read may be in it or not: the first
  // delta tells.
  if (baseline) baseline_extras_ = AnsweredDuring(own_now, own_after);
  own_before_.clear();
  for (const OwnStatements& own : own_now) own_before_[own.member] = own.statements;
  previous_poll_ = context.now;
  previous_log_ms_ = log_now_ms_;
  baseline_done_ = true;
  if (!baseline) view.window.push_back(step);
  while (!view.window.empty() && view.window.front().at < context.now - context.health_window) {
    view.window.pop_front();
  }

  const std::vector<Key> slowest = Publish(context, out, step);
  FetchTexts(session, *extension, slowest);
  for (std::size_t i = 0; i < slowest.size(); ++i) {
    auto text = texts_.find(slowest[i]);
    if (text != texts_.end()) view.top[i].query = text->second.display;
  }
  // Only texts of statements still tracked are kept: the cache is bounded like the view.
  for (auto it = texts_.begin(); it != texts_.end();) {
    it = statements_.contains(it->first) ? std::next(it) : texts_.erase(it);
  }
  view.available = true;
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

void StatementsCollector::ComputeDeltas(const std::map<Key, Counters>& current,
                                        const std::map<Key, std::string>& since,
                                        const std::set<Key>& added, const std::set<Key>& summed,
                                        bool reset_all, bool baseline) {
  for (const auto& [key, counters] : current) {
    Statement& statement = statements_.at(key);
    const auto entry_since = since.find(key);
    // Kept as a hash (never 0): a fleet tracks millions of statements.
    const std::size_t since_hash =
        entry_since == since.end() ? 0 : std::hash<std::string>{}(entry_since->second) | 1;
    const bool recreated =
        since_hash != 0 && statement.since_hash != 0 && since_hash != statement.since_hash;
    const bool is_new = added.contains(key);
    if (baseline) {
      statement.delta = {};
    } else if (is_new || reset_all || recreated ||
               (!summed.contains(key) && CountedBackwards(counters, statement.last))) {
      statement.delta = counters;  // everything it has counted is new since the last poll
    } else if (summed.contains(key) && CountedBackwards(counters, statement.last)) {
      // A sum of rows that lost one (evicted, or reset on its own): what the others added
      // cannot be told from the loss, and counting the whole sum again would count history
      // as new. Nothing is counted this poll.
      statement.delta = {};
    } else {
      statement.delta = {counters.calls - statement.last.calls,
                         std::max(0.0, counters.exec_ms - statement.last.exec_ms),
                         counters.rows - statement.last.rows};
    }
    if (since_hash != 0) statement.since_hash = since_hash;
    statement.last = counters;
    statement.own_delta = {};
    statement.score = statement.score * kScoreDecay + statement.delta.exec_ms;
  }
}

void StatementsCollector::AttributeOwn(pg::Session& session, const Extension& extension,
                                       std::vector<OwnStatements>& own_now,
                                       const std::vector<OwnStatements>& own_after,
                                       double& unmatched_calls, double& unmatched_ms) {
  // What the agent ran since the last read, by the role and database it ran in, by fingerprint.
  // A worker not seen at the last read started after it: all it ran is new.
  struct Pending {
    double calls = 0;  // answered: the server counted them before this read
    double ms = 0;     // their client-side time
    // Statements the server may or may not have counted in this read's delta, each as
    // (worker's index in own_now, fingerprint, after): answered or in flight after the agent's
    // load was read (`after`; counted here, they are added to what the next read takes as
    // answered before), or answered before their worker joined the cluster (after the last
    // read, or before it: a worker's statements are not timed).
    struct Maybe {
      std::size_t member;
      std::string fingerprint;
      bool after;
    };
    std::deque<Maybe> maybe;  // the older first
  };
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::map<std::size_t, Pending>> pending;
  double smallest = std::numeric_limits<double>::max();
  const auto extras = AnsweredDuring(own_now, own_after);
  for (std::size_t member = 0; member < own_now.size(); ++member) {
    const OwnStatements& own = own_now[member];
    const auto before_member = own_before_.find(own.member);
    const bool joined = before_member == own_before_.end() && !own_before_.empty();
    const auto carried_member = baseline_extras_.find(own.member);
    auto counted = [](const auto& by_member, std::uint64_t id, const std::string& fingerprint) {
      const auto found = by_member.find(id);
      if (found == by_member.end()) return 0.0;
      const auto it = found->second.find(fingerprint);
      return it == found->second.end() ? 0.0 : it->second;
    };
    std::set<std::string> fingerprints;
    for (const auto& [fingerprint, counts] : own.statements) fingerprints.insert(fingerprint);
    if (const auto found = extras.find(own.member); found != extras.end()) {
      for (const auto& [fingerprint, count] : found->second) fingerprints.insert(fingerprint);
    }
    for (const std::string& fingerprint : fingerprints) {
      const auto now_it = own.statements.find(fingerprint);
      const pg::OwnLoad::Counts now =
          now_it == own.statements.end() ? pg::OwnLoad::Counts{} : now_it->second;
      pg::OwnLoad::Counts previous;
      if (before_member != own_before_.end()) {
        const auto it = before_member->second.find(fingerprint);
        if (it != before_member->second.end()) previous = it->second;
      }
      const double calls = static_cast<double>(now.ok) - static_cast<double>(previous.ok);
      const double extra = counted(extras, own.member, fingerprint);
      // Answered while the baseline was read: in it, or in this delta.
      const double carried =
          carried_member == baseline_extras_.end()
              ? 0.0
              : std::min(std::max(calls, 0.0), counted(baseline_extras_, own.member, fingerprint));
      if (calls <= 0 && extra <= 0) continue;
      auto& into = pending[{own.userid, own.dbid}][Hash(fingerprint)];
      const bool uncertain = joined;
      if (calls > carried && !uncertain) {
        into.calls += calls - carried;
        into.ms += (now.seconds - previous.seconds) * 1000 * (calls - carried) / calls;
      }
      for (double i = 0; i < (uncertain ? calls : carried); ++i) {
        into.maybe.push_back({member, fingerprint, false});
      }
      for (double i = 0; i < extra; ++i) into.maybe.push_back({member, fingerprint, true});
      smallest = std::min(smallest, std::max(1.0, calls));
    }
  }
  baseline_extras_.clear();
  for (auto& [database, by_fingerprint] : pending) {
    for (auto& [hash, ran] : by_fingerprint) {
      std::stable_partition(ran.maybe.begin(), ran.maybe.end(),
                            [](const auto& maybe) { return !maybe.after; });
    }
  }
  if (pending.empty()) return;

  auto own_entries = [&](auto&& visit) {
    for (auto& [key, statement] : statements_) {
      if (key.queryid == kHiddenQueryId) continue;
      const auto it = pending.find({key.userid, key.dbid});
      if (it != pending.end()) visit(key, statement, it->second);
    }
  };
  // Texts of the entries that could hold the agent's statements and are not known yet.
  std::vector<std::pair<double, Key>> candidates;
  own_entries([&](const Key& key, const Statement& statement, const auto&) {
    if (!texts_.contains(key) && statement.delta.calls >= smallest) {
      candidates.emplace_back(statement.delta.calls, key);
    }
  });
  std::sort(candidates.begin(), candidates.end(), std::greater<>());
  std::vector<Key> wanted;
  for (const auto& [count, key] : candidates) wanted.push_back(key);
  FetchTexts(session, extension, wanted);

  own_entries([&](const Key& key, Statement& statement, auto& in_entry_database) {
    const auto text = texts_.find(key);
    if (text == texts_.end()) return;
    auto it = in_entry_database.find(text->second.fingerprint);
    if (it == in_entry_database.end() || statement.delta.calls <= 0) return;
    Pending& ran = it->second;
    const double answered = std::min(ran.calls, statement.delta.calls);
    double calls = answered;
    // Calls beyond the answered ones are the agent's statements the server counted already of
    // those it may have: the agent's, and not to be counted again once answered (their
    // worker's last-read counts take them in).
    // Oldest first: what ran before this read (while the last one was read, or before a worker
    // joined) is counted by now if ever; what ran during it may still come in the next.
    while (calls < statement.delta.calls && !ran.maybe.empty()) {
      const auto& maybe = ran.maybe.front();
      if (maybe.after) own_now[maybe.member].statements[maybe.fingerprint].ok += 1;
      ran.maybe.pop_front();
      calls += 1;
    }
    // Time: the entry's mean per call, exact when the entry holds only the agent's calls.
    const double share = calls / statement.delta.calls;
    statement.own_delta = {calls, statement.delta.exec_ms * share, statement.delta.rows * share};
    ran.calls -= answered;
    if (ran.calls <= 0 && ran.maybe.empty()) in_entry_database.erase(it);
  });
  for (const auto& [database, left] : pending) {
    for (const auto& [hash, ran] : left) {
      if (ran.calls <= 0) continue;  // only in-flight ones left: counted at a later read
      unmatched_calls += ran.calls;
      unmatched_ms += ran.ms;
    }
  }
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
  const Transactions now = *xact_now_;
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
    exported_[key] = {baseline ? statement.last : Counters{}, DatabaseName(key.dbid),
                      RoleName(key.userid), 0};
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

void StatementsCollector::FetchTexts(pg::Session& session, const Extension& extension,
                                     std::vector<Key> wanted) {
  std::erase_if(wanted, [&](const Key& key) {
    return key.queryid == kHiddenQueryId || texts_.contains(key);
  });
  if (wanted.size() > kTextsPerPoll) wanted.resize(kTextsPerPoll);
  if (wanted.empty()) return;
  std::set<std::int64_t> ids;
  for (const Key& key : wanted) ids.insert(key.queryid);
  std::string list;
  for (const std::int64_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  // One array constant, so this statement keeps one queryid however many ids it asks for.
  const pg::Rows rows =
      session.Query("SELECT userid, dbid, queryid, left(query, " + std::to_string(kMatchLength) +
                    ") AS query FROM " + extension.schema +
                    "pg_stat_statements(true) WHERE queryid = ANY('{" + list + "}'::bigint[])");
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const auto& id = rows.At(row, 2);
    if (!id) continue;
    const Key key{ToOid(rows.Number(row, 0)), ToOid(rows.Number(row, 1)), std::stoll(*id)};
    if (!statements_.contains(key)) continue;
    const std::string query = rows.Text(row, 3);
    const std::string fingerprint = pg::Fingerprint(query);
    texts_[key] = {query.substr(0, kDisplayLength), Hash(fingerprint), IsHousekeeping(fingerprint),
                   TransactionsPerCall(fingerprint), OpensBlock(fingerprint)};
  }
  // Asked for and not returned (evicted meanwhile, or hidden from this role): not asked again
  // while tracked. Keys beyond this poll's cap were not asked, and stay unknown.
  for (const Key& key : wanted) texts_.try_emplace(key);
}

std::vector<StatementsCollector::Key> StatementsCollector::Publish(
    CollectContext& context, metrics::FamilySet& out, const Observations::StatementsDelta& step) {
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

  kinds_["work"].calls += step.work_calls;
  kinds_["work"].seconds += step.work_ms / 1000;
  kinds_["housekeeping"].calls += step.housekeeping_calls;
  kinds_["housekeeping"].seconds += step.housekeeping_ms / 1000;
  kinds_["agent"].calls += step.agent_calls;
  kinds_["agent"].seconds += step.agent_ms / 1000;
  if (step.has_transactions || transactions_.all > 0) {
    const char* help =
        "pg_stat_database transactions by kind: the application's, its pools' housekeeping run "
        "as transactions of their own, the agent's own.";
    out.Counter("pgvigil_transactions_total", help, {{"kind", "work"}}, transactions_.work);
    out.Counter("pgvigil_transactions_total", help, {{"kind", "housekeeping"}},
                transactions_.housekeeping);
    out.Counter("pgvigil_transactions_total", help, {{"kind", "agent"}}, transactions_.agent);
    const char* rollbacks_help = "Of those transactions, the ones rolled back.";
    out.Counter("pgvigil_transaction_rollbacks_total", rollbacks_help, {{"kind", "work"}},
                transactions_.rollbacks);
    out.Counter("pgvigil_transaction_rollbacks_total", rollbacks_help, {{"kind", "agent"}},
                transactions_.agent_rollbacks);
  }
  for (const auto& [kind, totals] : kinds_) {
    out.Counter("pgvigil_statements_total",
                "pg_stat_statements calls by kind: the application's work, its pools' "
                "housekeeping, the agent's own.",
                {{"kind", kind}}, totals.calls);
    out.Counter("pgvigil_statement_seconds_total", "Execution time of those calls, in seconds.",
                {{"kind", kind}}, totals.seconds);
  }

  // Slow statements, the agent's own calls left out: by the last interval for the gauge, by the
  // health window for /health.
  double slow_last_interval = 0;
  std::vector<std::pair<Key, Observations::SlowStatement>> slow;
  std::size_t over_threshold = 0;
  for (const auto& [key, statement] : statements_) {
    const double others = statement.delta.calls - statement.own_delta.calls;
    const double others_ms = statement.delta.exec_ms - statement.own_delta.exec_ms;
    if (others > 0 && others_ms / others > slow_threshold_ms_) slow_last_interval += 1;
    Counters window;
    for (const auto& [at, recent] : statement.recent) {
      window.calls += recent.calls;
      window.exec_ms += recent.exec_ms;
    }
    if (window.calls <= 0 || window.exec_ms / window.calls <= slow_threshold_ms_) continue;
    ++over_threshold;
    slow.push_back(
        {key,
         {key.queryid == kHiddenQueryId ? "" : std::to_string(key.queryid), DatabaseName(key.dbid),
          RoleName(key.userid), window.calls, window.exec_ms / window.calls, ""}});
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
