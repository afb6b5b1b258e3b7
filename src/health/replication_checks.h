#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "health/check.h"
#include "health/health.h"

namespace pgvigil::health {

// The replication collector's checks (docs/configuration.md, health thresholds), appended to a
// PostgreSQL target's in this order: replication_lag (each standby's replay lag on a primary,
// the server's own on a standby), standby_streaming (on a standby, critical while its WAL
// receiver does not stream) and replication_slots (a slot without a consumer that retains WAL,
// or whose wal_status is unreserved or lost).
void AddReplicationChecks(const TargetInput& input, const config::HealthConfig& config,
                          Checks& checks);

// The target's `replication` entry of /health: role, standbys, receiver and slots; null until
// the collector has run.
[[nodiscard]] nlohmann::ordered_json ReplicationJson(const TargetInput& input);

// What the monitoring role could not read about replication, for the target's notes.
void AddReplicationNotes(const TargetInput& input, nlohmann::ordered_json& notes);

// Sizes and durations in a reason sentence: "12 GiB", "340 MiB", "3 h", "42 s".
[[nodiscard]] std::string FormatBytes(double bytes);
[[nodiscard]] std::string FormatSeconds(double seconds);

}  // namespace pgvigil::health
