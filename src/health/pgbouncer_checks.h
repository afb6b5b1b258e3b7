#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "health/check.h"
#include "health/health.h"

namespace pgvigil::health {

// A PgBouncer target's checks (docs/configuration.md, PgBouncer targets): reachable, then
// pool_usage (its busiest pool), clients_waiting and client_connections.
[[nodiscard]] Checks PgBouncerChecks(const TargetInput& input, const config::HealthConfig& config);

// The SHOW commands the admin console refused this account, one note each.
[[nodiscard]] nlohmann::ordered_json PgBouncerNotes(const TargetInput& input);

}  // namespace pgvigil::health
