#pragma once

#include <string>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// pg_stat_activity: how close the server is to running out of connections, what its client
// backends are doing, lock waiters, old transactions and slow running queries.
class ActivityCollector final : public Collector {
 public:
  explicit ActivityCollector(const config::Target& target);
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

 private:
  config::Duration slow_query_threshold_;
};

// The query for a server version: PostgreSQL 16 added reserved_connections, which also keeps
// slots away from ordinary roles.
[[nodiscard]] std::string ActivitySql(int server_version_num, config::Duration slow_threshold);

}  // namespace pgvigil::collectors
