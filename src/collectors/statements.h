#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "pg/own_load.h"

namespace pgvigil::collectors {

// pg_stat_statements, read without query text. Counters are turned into deltas in the agent,
// keyed by (userid, dbid, queryid); resets and evictions never yield a negative or doubled
// delta. The top statements_top_n by recent execution time are exported one series each, with
// hysteresis so series do not churn; everything else goes to one queryid="other" series per
// (datname, user). Every delta lands in exactly one series, so sums over queryid equal the
// server's totals and every exported counter only grows.
//
// Every delta is also split by kind (docs/configuration.md, how the agent counts its own load):
// `agent` is exactly what the agent's own load says it ran (pg::OwnLoad), taken out of the entry it
// landed in, so an application statement that shares the entry (a pool's SELECT 1 under the same
// role) keeps its calls; `housekeeping` is what matches housekeeping_statements; the rest is the
// application's `work`. Texts are read only for the statements with the most calls that lack one,
// and cached while tracked.
//
// The extension is looked up (pg_extension, and the library loaded) before every poll, so the
// agent never queries it where it is missing and starts by itself once it appears.
class StatementsCollector final : public Collector {
 public:
  explicit StatementsCollector(const config::Target& target);
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

  // Polls a statement stays exported after leaving the top N.
  static constexpr int kHysteresisPolls = 10;
  // Statement texts read per query at most.
  static constexpr std::size_t kTextsPerPoll = 200;

 private:
  struct Key {
    std::uint32_t userid = 0;
    std::uint32_t dbid = 0;
    std::int64_t queryid = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Counters {
    double calls = 0;
    double exec_ms = 0;
    double rows = 0;
  };
  struct Statement {
    Counters last;       // the server's values at the last poll
    Counters delta;      // since the poll before
    Counters own_delta;  // the agent's share of delta
    double score = 0;    // execution time, exponentially decayed per poll
    // PostgreSQL 17+: a hash of when the entry was (re)created; 0 if unknown. Names are not
    // kept per statement (a fleet tracks millions): the key's oids find them in names_.
    std::size_t since_hash = 0;
    // Non-zero deltas of others than the agent within the health window. A vector: most
    // statements have none, and an empty std::deque still allocates, thousands of times over.
    std::vector<std::pair<SteadyClock::time_point, Counters>> recent;
  };
  struct Text {
    std::string display;          // the first 200 characters
    std::size_t fingerprint = 0;  // hash of pg::Fingerprint of the (first 4 KiB of the) text
    bool housekeeping = false;
    double transactions = 0;   // transactions of its own per call, for housekeeping (0 or 1)
    bool opens_block = false;  // BEGIN, START TRANSACTION
  };
  struct Exported {
    Counters total;
    std::string datname;
    std::string user;
    int polls_outside_top = 0;
  };
  struct Extension {
    std::string schema;  // quoted, ready to prefix a name
    int version = 0;     // extversion as major * 100 + minor: 1.9 is 109
  };
  struct Pattern {
    std::string fingerprint;
    bool prefix = false;
  };
  struct KindTotals {
    double calls = 0;
    double seconds = 0;
  };

  // The extension as this poll may use it; nullopt (with `why`) where it is not usable.
  std::optional<Extension> Detect(pg::Session& session, std::string& why);
  bool ReadInfo(pg::Session& session, const Extension& extension);
  void ComputeDeltas(const std::map<Key, Counters>& current,
                     const std::map<Key, std::string>& since, const std::set<Key>& added,
                     const std::set<Key>& summed, bool reset_all, bool baseline);
  void AttributeOwn(pg::Session& session, const Extension& extension,
                    std::vector<OwnStatements>& own_now,
                    const std::vector<OwnStatements>& own_after, double& unmatched_calls,
                    double& unmatched_ms);
  // Per worker and fingerprint: statements answered or in flight in `after` that were not
  // answered in `before` (the agent's load read around one read of the counters).
  [[nodiscard]] static std::map<std::uint64_t, std::map<std::string, double>> AnsweredDuring(
      const std::vector<OwnStatements>& before, const std::vector<OwnStatements>& after);
  // The application's transactions and rollbacks in this delta, for the error ratio without a
  // log source: pg_stat_database's, less the agent's own and the pools' housekeeping run as
  // transactions of their own (`housekeeping`); at least the transaction blocks opened
  // (`blocks`).
  void CountTransactions(CollectContext& context, Observations::StatementsDelta& step,
                         bool baseline, double housekeeping, double blocks);
  void UpdateExportedSet(bool baseline);
  void FetchTexts(pg::Session& session, const Extension& extension, std::vector<Key> wanted);
  [[nodiscard]] bool IsHousekeeping(const std::string& fingerprint) const;
  // Exports the series and the /health view; returns the keys of view.top, slowest first.
  std::vector<Key> Publish(CollectContext& context, metrics::FamilySet& out,
                           const Observations::StatementsDelta& step);

  int top_n_;
  double slow_threshold_ms_;
  std::vector<Pattern> housekeeping_;
  bool baseline_done_ = false;
  bool was_available_ = true;
  [[nodiscard]] const std::string& DatabaseName(std::uint32_t oid) const;
  [[nodiscard]] const std::string& RoleName(std::uint32_t oid) const;

  std::map<Key, Statement> statements_;
  // Names of the databases and roles statements_ refers to, by oid (read when a new one shows).
  std::map<std::uint32_t, std::string> database_names_;
  std::map<std::uint32_t, std::string> role_names_;
  std::map<Key, Exported> exported_;
  std::map<std::pair<std::string, std::string>, Counters> other_;
  std::map<Key, Text> texts_;  // bounded by the tracked entries
  std::optional<std::string> stats_reset_;
  std::optional<double> dealloc_;
  double tracked_ = 0;
  std::optional<double> max_;
  std::uint32_t own_userid_ = 0;
  std::uint32_t own_dbid_ = 0;
  // The agent's own load at the last read, per worker (OwnStatements::member).
  std::map<std::uint64_t, pg::OwnLoad::ByFingerprint> own_before_;
  // Per worker and fingerprint, its statements answered or in flight while the baseline was
  // read (they may be in it or not); cleared by the first delta.
  std::map<std::uint64_t, std::map<std::string, double>> baseline_extras_;
  SteadyClock::time_point previous_poll_{};
  std::int64_t log_now_ms_ = 0;  // the server's clock at this poll, as its log writes it
  std::int64_t previous_log_ms_ = 0;
  std::map<std::string, KindTotals> kinds_;  // work, housekeeping, agent
  struct Transactions {
    double commits = 0;
    double rollbacks = 0;
  };
  std::optional<Transactions> xact_now_;     // pg_stat_database's sums at this poll
  std::optional<Transactions> xact_before_;  // and at the last one
  pg::OwnTransactions own_transactions_;
  // Running totals since the first delta.
  struct TransactionTotals {
    double all = 0;           // pg_stat_database's, the agent's own left out
    double rollbacks = 0;     // of those, rolled back
    double housekeeping = 0;  // housekeeping statements run as transactions of their own
    double blocks = 0;        // transaction blocks opened by others than the agent
    double work = 0;          // the application's: never decreasing
    double agent = 0;
    double agent_rollbacks = 0;
  } transactions_;
};

// The counters query for a server version and extension version: 12 names the execution time
// total_time, 13+ total_exec_time; 14+ may hold a statement twice (toplevel true and false),
// summed here; 17+ (extension 1.11) tells when each entry was created, which reveals resets of
// single entries.
[[nodiscard]] std::string StatementsSql(int server_version_num, const std::string& schema = "",
                                        int extension_version = 0);

}  // namespace pgvigil::collectors
