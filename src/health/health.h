#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "config/config.h"

namespace pgvigil::health {

struct CollectorStatus {
  std::string name;
  bool ran = false;
  bool success = false;
  std::string error;  // why the last run failed; "" after a success
};

// What /health needs to know about one target, taken from its latest snapshot.
struct TargetInput {
  std::string name;
  config::TargetKind kind = config::TargetKind::kPostgres;
  bool reachable = false;
  const collectors::Observations* observations = nullptr;
  std::vector<CollectorStatus> collectors;
  config::Duration slow_query_threshold{};
  bool connect_probe_enabled = true;
  // When the report is made: how long a log source has been silent is measured to it.
  collectors::SteadyClock::time_point now = collectors::SteadyClock::now();
};

// One target's entry of the /health report (README, the health report): status, facts and checks. A
// PgBouncer target has its own checks (reachable, pool_usage, clients_waiting, client_connections)
// and a `pools` array instead of the server's.
[[nodiscard]] nlohmann::ordered_json EvaluateTarget(const TargetInput& input,
                                                    const config::HealthConfig& config);

// The numbers the status page charts for one target, typed: each is the very number
// EvaluateTarget writes to /health (same rounding), nullopt where /health writes null or has no
// such field for this kind of target.
struct Headline {
  std::optional<double> connection_usage;  // connections.usage_ratio
  std::optional<double> probe_ms;          // latency_ms.last
  std::optional<double> connect_ms;        // latency_ms.connect_last
  std::optional<double> error_ratio;       // errors.error_ratio
  std::optional<double> pool_usage;        // PgBouncer: the largest pools[].usage_ratio
  std::optional<double> clients_waiting;   // PgBouncer: pools[].client_waiting summed
  // connections.by_application: application_name and sessions, most sessions first.
  std::vector<std::pair<std::string, double>> applications;
};

// The headline numbers of one target, without building its /health entry.
[[nodiscard]] Headline HeadlineOf(const TargetInput& input);

// "ok" < "degraded" < "down": the worst status of the given target entries ("ok" for none).
[[nodiscard]] std::string WorstStatus(const nlohmann::ordered_json& targets);

}  // namespace pgvigil::health
