#pragma once

#include <span>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// The series the pgbouncer collector exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> PgBouncerMetrics();

// PgBouncer's admin console (docs/configuration.md, PgBouncer targets): SHOW POOLS, DATABASES,
// STATS, CONFIG and LISTS, every column read by name so that PgBouncer 1.18 and later all work, and
// columns a version lacks are left out rather than invented. SHOW POOLS is what the target is
// watched for: if the console refuses it the collection fails; a refusal of any other command (an
// account with less right) leaves its series out and says so in /health.
class PgBouncerCollector final : public Collector {
 public:
  explicit PgBouncerCollector(const config::Target& target);
  void Collect(CollectContext& context, metrics::FamilySet& out) override;
};

}  // namespace pgvigil::collectors
