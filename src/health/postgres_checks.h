#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "health/check.h"
#include "health/error_ratio.h"
#include "health/health.h"

namespace pgvigil::health {

// A PostgreSQL target's checks, in the order /health lists them (README, the health report):
// reachable, connection_usage, error_ratio (judged from `ratio`), log_source when a log source
// is followed, probe_latency, mean_query_time, slow_queries, connect_probe, then the replication
// checks (replication_lag, standby_streaming, replication_slots: health/replication_checks.h)
// and the maintenance checks (wraparound, xmin_horizon, archiver: health/maintenance_checks.h).
[[nodiscard]] Checks PostgresChecks(const TargetInput& input, const config::HealthConfig& config,
                                    const ErrorRatio& ratio);

// What the operator should know that is no check: errors without SQLSTATE, a role without
// pg_monitor, late probes, pg_stat_statements missing.
[[nodiscard]] nlohmann::ordered_json PostgresNotes(const TargetInput& input);

}  // namespace pgvigil::health
