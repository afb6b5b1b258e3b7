#include "collectors/statements_delta.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace pgvigil::collectors {
namespace {

// Share of the previous score kept each poll: a statement's rank follows its last few minutes.
constexpr double kScoreDecay = 0.7;

}  // namespace

std::uint32_t ToOid(const std::optional<double>& value) {
  return value ? static_cast<std::uint32_t>(*value) : 0;
}

CountersRead ReadCounters(const pg::Rows& rows, bool has_since) {
  CountersRead read;
  const std::size_t userid = rows.Column("userid");
  const std::size_t dbid = rows.Column("dbid");
  const std::size_t queryid = rows.Column("queryid");
  const std::size_t calls = rows.Column("calls");
  const std::size_t exec_ms = rows.Column("exec_ms");
  const std::size_t row_count = rows.Column("rows");
  const std::size_t stats_since = has_since ? rows.Column("stats_since") : 0;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    StatementKey key{ToOid(rows.Number(row, userid)), ToOid(rows.Number(row, dbid)),
                     kHiddenQueryId};
    if (const auto& id = rows.At(row, queryid)) key.queryid = std::stoll(*id);
    auto [entry, first] = read.current.try_emplace(key);
    if (!first || key.queryid == kHiddenQueryId) read.summed.insert(key);
    StatementCounters& sum = entry->second;
    sum.calls += rows.Number(row, calls).value_or(0);
    sum.exec_ms += rows.Number(row, exec_ms).value_or(0);
    sum.rows += rows.Number(row, row_count).value_or(0);
    if (has_since) {
      // Of the rows summed into a key, the newest creation time (one row recreated is enough).
      if (const auto& created = rows.At(row, stats_since)) {
        auto& newest = read.since[key];
        newest = std::max(newest, *created);
      }
    }
  }
  return read;
}

bool LooksLikeFullReset(const CountersRead& read, const TrackedStatements& statements) {
  std::size_t common = 0;
  std::size_t backwards = 0;
  for (const auto& [key, now] : read.current) {
    auto it = statements.find(key);
    if (it == statements.end()) continue;
    ++common;
    if (now.calls < it->second.last.calls) ++backwards;
  }
  return backwards > 0 && 2 * backwards >= common;
}

// Calls and rows are whole numbers, exact in a double. Execution time is not: a key that sums
// several rows (a statement both top-level and nested, or every statement of a role this one may
// not see) adds them in whatever order the server returns them, and the last bits of the sum
// differ from poll to poll. Such noise is not a reset; taking it for one would count the entry's
// whole history again.
bool CountedBackwards(const StatementCounters& now, const StatementCounters& last) {
  const double noise = 1e-9 * std::abs(last.exec_ms) + 1e-6;
  return now.calls < last.calls || now.rows < last.rows || now.exec_ms < last.exec_ms - noise;
}

void ApplyRead(TrackedStatements& statements, const CountersRead& read, bool reset_all,
               bool baseline) {
  for (auto it = statements.begin(); it != statements.end();) {
    it = read.current.contains(it->first) ? std::next(it) : statements.erase(it);  // evicted
  }
  std::set<StatementKey> added;
  for (const auto& [key, now] : read.current) {
    auto [it, is_new] = statements.try_emplace(key);
    if (is_new) added.insert(key);
  }
  for (const auto& [key, counters] : read.current) {
    TrackedStatement& statement = statements.at(key);
    const auto entry_since = read.since.find(key);
    // Kept as a hash (never 0): a fleet tracks millions of statements.
    const std::size_t since_hash =
        entry_since == read.since.end() ? 0 : std::hash<std::string>{}(entry_since->second) | 1;
    const bool recreated =
        since_hash != 0 && statement.since_hash != 0 && since_hash != statement.since_hash;
    const bool is_new = added.contains(key);
    const bool summed = read.summed.contains(key);
    if (baseline) {
      statement.delta = {};
    } else if (is_new || reset_all || recreated ||
               (!summed && CountedBackwards(counters, statement.last))) {
      statement.delta = counters;  // everything it has counted is new since the last poll
    } else if (summed && CountedBackwards(counters, statement.last)) {
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

}  // namespace pgvigil::collectors
