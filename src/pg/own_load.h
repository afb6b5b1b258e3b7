#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace pgvigil::pg {

// A statement's text reduced to what pg_stat_statements keeps of it, for comparison: leading
// comments dropped (PostgreSQL 18 stores statements without them), every constant, parameter
// ($1) and true/false/null as "?", whitespace runs as one space, ASCII letters outside quoted
// identifiers lower-cased, trailing semicolons dropped, a bracketed list of constants as one
// "?" (PostgreSQL 18 shows IN (1, 2, 3) as IN ($1 /*, ... */)). The agent's own SQL and the text
// pg_stat_statements shows for it have the same fingerprint as long as that SQL holds no typed
// literal (interval '1 s'), no negative number (pg_stat_statements widens their constants) and
// no EXTRACT(field FROM …) (14+ shows the field as a parameter). The integration test
// OwnLoadIntegrationTest checks every statement of the agent's against each server version.
[[nodiscard]] std::string Fingerprint(std::string_view sql);

// What the agent itself ran against one target: every statement sent on the monitoring session
// and by the connect probe, with its outcome and time, keyed by fingerprint. The one place the
// agent's own load is counted; collectors and /health subtract these exact counts instead of
// guessing from query text. Owned by the target's worker and recorded on its thread; read from
// the thread of any worker that shares its cluster (agent::ClusterShares), hence the lock.
class OwnLoad {
 public:
  struct Counts {
    std::uint64_t ok = 0;      // statements that completed (pg_stat_statements counts these)
    std::uint64_t failed = 0;  // statements that ended in an error (rolled back)
    double seconds = 0;        // client-side round trips of the completed ones
    // Sent and not answered yet. The server may have counted such a statement already (it
    // counts before it answers): another target's reader, on another thread, cannot know.
    std::uint64_t in_flight = 0;
    // Sessions opened (the monitoring session, each connect probe): the server runs and counts
    // one transaction of its own as a backend starts, with no statement for it.
    std::uint64_t sessions = 0;
  };
  using ByFingerprint = std::map<std::string, Counts, std::less<>>;

  using Clock = std::chrono::steady_clock;

  // One statement per call, completed `at`: the ledger is exact only if `sql` holds a single
  // statement.
  void Record(std::string_view sql, bool ok, double seconds, Clock::time_point at = Clock::now());
  // The same in two steps, for a statement sent now and answered later: Begin() returns the
  // statement's fingerprint, for its End().
  [[nodiscard]] std::string Begin(std::string_view sql);
  void End(const std::string& fingerprint, bool ok, double seconds,
           Clock::time_point at = Clock::now());
  // A session opened at `at` (its backend's start-up transaction, committed).
  void RecordSession(Clock::time_point at = Clock::now());

  // A backend the agent opened (the monitoring session, a connect probe): its log lines are the
  // agent's own. The last kBackends are kept.
  void RecordBackend(int pid);
  [[nodiscard]] bool IsOwnBackend(int pid) const;

  // Cumulative counts since the worker started.
  [[nodiscard]] ByFingerprint Statements() const;
  [[nodiscard]] Counts Total() const;
  // Cumulative counts of the statements completed by `at`, to 100 ms (within the last minute;
  // earlier times give the counts as of a minute ago).
  [[nodiscard]] Counts TotalAt(Clock::time_point at) const;

 private:
  static constexpr auto kHistory = std::chrono::seconds(60);
  static constexpr auto kResolution = std::chrono::milliseconds(100);
  static constexpr std::size_t kBackends = 256;

  mutable std::mutex mutex_;
  ByFingerprint statements_;
  Counts total_;
  std::deque<std::pair<Clock::time_point, Counts>> history_;  // total_ after each statement
  Counts before_history_;
  std::deque<int> backends_;

  void AppendHistory(Clock::time_point at);  // with mutex_ held
};

// The agent's own transactions taken out of pg_stat_database's counts. Each statement the agent
// sends is a transaction of its own (committed if it completed, rolled back if it failed), and
// each session it opens one more (the backend's start-up). A backend flushes its counts to
// pg_stat_database lazily, so some show a poll or more late: the agent's transactions that
// completed a flush lag before a poll become due in it and are taken out as counts show, oldest
// first, so that over a window the sum is exact; due ones not seen within kLagLimit are
// forgotten (never subtracted forever).
class OwnTransactions {
 public:
  using Clock = OwnLoad::Clock;
  // Those completed this long before a poll are due in it (PostgreSQL 15+ flushes at most once a
  // second; earlier versions every 0.5 s to the statistics collector).
  static constexpr std::chrono::milliseconds kFlushLag{1000};
  static constexpr std::chrono::seconds kLagLimit{30};

  struct Taken {
    double commits = 0;
    double rollbacks = 0;
  };
  // The agent's share of `commits` and `rollbacks`, the deltas pg_stat_database showed between
  // the last poll and this one (`now`). The first call only takes the ledger's state.
  Taken Take(const OwnLoad& own_load, Clock::time_point now, double commits, double rollbacks);

 private:
  struct Pending {
    Clock::time_point due;  // the poll they became due at
    double count;
  };
  static double TakeFrom(std::deque<Pending>& pending, double observed);

  bool started_ = false;
  OwnLoad::Counts previous_;
  std::deque<Pending> commits_;
  std::deque<Pending> rollbacks_;
};

}  // namespace pgvigil::pg
