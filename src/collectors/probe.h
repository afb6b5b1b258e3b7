#pragma once

#include <prometheus/histogram.h>

#include <map>
#include <span>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// The series the probe collector exports (docs/metrics.md); pg_up is the worker's.
[[nodiscard]] std::span<const metrics::Descriptor> ProbeMetrics();

// SELECT 1 on the monitoring connection every probe_interval and, every connect_probe_interval,
// a fresh connection plus SELECT 1: the path a serverless function takes on each invocation.
class ProbeCollector final : public Collector {
 public:
  explicit ProbeCollector(const config::Target& target);

  [[nodiscard]] bool NeedsConnection() const override { return false; }
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

 private:
  void RecordFailure(CollectContext& context, const std::string& reason);
  void ConnectProbe(CollectContext& context);

  // SELECT 1, or SHOW VERSION on PgBouncer's admin console (it runs no SELECT).
  const char* probe_sql_;
  config::Duration connect_probe_interval_;
  std::optional<SteadyClock::time_point> next_connect_probe_;
  prometheus::Histogram probe_seconds_;
  prometheus::Histogram connect_seconds_;
  double probes_ = 0;
  std::map<std::string, double> failures_ = {{"connect", 0}, {"timeout", 0}, {"query", 0}};
  // Connect probes the server refused, by SQLSTATE: 53300 too_many_connections (max_connections,
  // reserved slots, a role's or database's CONNECTION LIMIT), 57P03 cannot_connect_now
  // (starting up, shutting down, recovering without hot standby). Both from the start, at 0.
  std::map<std::string, double> refused_ = {{"53300", 0}, {"57P03", 0}};
};

}  // namespace pgvigil::collectors
