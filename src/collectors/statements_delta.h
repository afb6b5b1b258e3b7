#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "pg/result.h"

namespace pgvigil::collectors {

// One pg_stat_statements entry as the agent keys it.
struct StatementKey {
  std::uint32_t userid = 0;
  std::uint32_t dbid = 0;
  std::int64_t queryid = 0;
  auto operator<=>(const StatementKey&) const = default;
};

// The statement whose queryid the role may not see (NULL): never exported on its own.
inline constexpr std::int64_t kHiddenQueryId = std::numeric_limits<std::int64_t>::min();

struct StatementCounters {
  double calls = 0;
  double exec_ms = 0;
  double rows = 0;
};

// What the agent keeps of one entry from poll to poll.
struct TrackedStatement {
  StatementCounters last;       // the server's values at the last poll
  StatementCounters delta;      // since the poll before
  StatementCounters own_delta;  // the agent's share of delta
  double score = 0;             // execution time, exponentially decayed per poll
  // PostgreSQL 17+: a hash of when the entry was (re)created; 0 if unknown. Names are not
  // kept per statement (a fleet tracks millions): the key's oids find them by name tables.
  std::size_t since_hash = 0;
  // Non-zero deltas of others than the agent within the health window. A vector: most
  // statements have none, and an empty std::deque still allocates, thousands of times over.
  std::vector<std::pair<SteadyClock::time_point, StatementCounters>> recent;
};

using TrackedStatements = std::map<StatementKey, TrackedStatement>;

// One read of the counters (StatementsSql), rows of one key summed: on 14+ a statement can
// appear as top-level and as nested.
struct CountersRead {
  std::map<StatementKey, StatementCounters> current;
  std::map<StatementKey, std::string> since;  // PostgreSQL 17+: when each entry was (re)created
  std::set<StatementKey> summed;              // keys that add up several rows
};

[[nodiscard]] std::uint32_t ToOid(const std::optional<double>& value);

// `has_since`: the rows hold stats_since (extension 1.11+).
[[nodiscard]] CountersRead ReadCounters(const pg::Rows& rows, bool has_since);

// Without stats_reset (extension before 1.9: PostgreSQL 12, 13), a full reset shows as most
// tracked statements counting backwards.
[[nodiscard]] bool LooksLikeFullReset(const CountersRead& read,
                                      const TrackedStatements& statements);

// Whether an entry's counters went backwards (reset, or evicted and created again).
[[nodiscard]] bool CountedBackwards(const StatementCounters& now, const StatementCounters& last);

// Follows `statements` to `read` (docs/metrics.md, how pg_stat_statements counters become
// deltas): entries gone are dropped, new ones added, and each one's delta since the last poll
// set, never negative or doubled across resets and evictions; own_delta is cleared. On the
// baseline every delta is zero.
void ApplyRead(TrackedStatements& statements, const CountersRead& read, bool reset_all,
               bool baseline);

}  // namespace pgvigil::collectors
