#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>

#include "collectors/collector.h"

namespace pgvigil::collectors {

// Streaming replication on a primary or a standby (docs/metrics.md, replication): each standby's
// distance per stage and PostgreSQL's lag times, a standby's WAL receiver and its replay lag,
// the replication slots with the WAL they retain, and the WAL position as a counter.
class ReplicationCollector final : public Collector {
 public:
  explicit ReplicationCollector(const config::Target& /*target*/) {}
  void Collect(CollectContext& context, metrics::FamilySet& out) override;

 private:
  // Before PostgreSQL 17, when the collector first saw each slot inactive.
  std::map<std::string, SteadyClock::time_point> inactive_since_;
};

// How long a standby may go without a message from its upstream and still count as hearing from
// it: on an idle primary nothing is sent until the WAL receiver asks, after half of
// wal_receiver_timeout (30 s by default), so half of it plus 10 s. A wal_receiver_timeout of 0
// (never asks) counts as the default 60 s.
[[nodiscard]] double FreshMessageSeconds(std::optional<double> wal_receiver_timeout_ms);

// A standby's replay lag in seconds (docs/metrics.md): 0 only while its WAL receiver streams,
// has heard from upstream within `fresh_seconds` and has replayed all it received; otherwise the
// time since the last replayed transaction; nullopt when that is not known.
[[nodiscard]] std::optional<double> StandbyReplayLagSeconds(
    bool streaming, std::optional<double> last_message_age_seconds,
    std::optional<double> receive_minus_replay_bytes,
    std::optional<double> since_last_replay_seconds, double fresh_seconds);

// The series it exports (docs/metrics.md).
[[nodiscard]] std::span<const metrics::Descriptor> ReplicationMetrics();

}  // namespace pgvigil::collectors
