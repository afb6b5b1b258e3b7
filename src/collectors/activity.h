#pragma once

#include <map>
#include <span>
#include <string>

#include "collectors/collector.h"
#include "collectors/top_n.h"

namespace pgvigil::collectors {

// The series the activity collector exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> ActivityMetrics();

// pg_stat_activity: how close the server is to running out of connections, what its client
// backends are doing, lock waiters, old transactions and slow running queries, and which
// applications hold the sessions: the applications_top_n application_name values with the most
// sessions get series of their own, kept for kTopNHysteresisPolls polls after they leave the top
// (at most twice applications_top_n at once), and the rest are summed as "other"; the sum over
// names is every client backend but the agent's own monitoring session.
class ActivityCollector final : public Collector {
 public:
  explicit ActivityCollector(const config::Target& target);
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

 private:
  struct Sessions {
    std::map<std::string, double> by_state;
    double total = 0;
  };
  struct Nothing {};
  using Exported = TopNWithHysteresis<std::string, Nothing>;
  // Chooses the names with their own series; returns them.
  const Exported& UpdateExported(const std::map<std::string, Sessions>& apps);

  config::Duration slow_query_threshold_;
  int applications_top_n_;
  Exported exported_;  // application_names with series of their own
};

// The query for a server version: PostgreSQL 16 added reserved_connections, which also keeps
// slots away from ordinary roles.
[[nodiscard]] std::string ActivitySql(int server_version_num, config::Duration slow_threshold);

}  // namespace pgvigil::collectors
