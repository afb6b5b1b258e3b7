#pragma once

#include <span>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// Slow-moving durability state (docs/metrics.md, maintenance collector): xid and multixact age per
// database, the age of the oldest xmin each kind of holder pins (with the oldest holder named in
// /health), the archiver's counters, failing state and .ready backlog, checkpoints under one set
// of names on PostgreSQL 12-18, pg_wal's size and database sizes. What the role may not read is
// detected from the catalog first and left out with a note, never queried.
class MaintenanceCollector final : public Collector {
 public:
  explicit MaintenanceCollector(const config::Target& /*target*/) {}
  void Collect(CollectContext& context, metrics::FamilySet& out) override;
};

// The series it exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> MaintenanceMetrics();

}  // namespace pgvigil::collectors
