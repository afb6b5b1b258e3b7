#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "health/check.h"
#include "health/health.h"

namespace pgvigil::health {

// The maintenance checks of a PostgreSQL target, appended in this order (docs/configuration.md,
// health thresholds): wraparound (the oldest xid or mxid age as a share of 2^31), xmin_horizon
// (the oldest holder's age, named), archiver (failing is critical; else the .ready backlog).
void AddMaintenanceChecks(const TargetInput& input, const config::HealthConfig& config,
                          Checks& checks);

// The target's `maintenance` object, or null until the collector has read it and while the
// target is unreachable.
[[nodiscard]] nlohmann::ordered_json MaintenanceJson(const TargetInput& input);

// "12,345,678": counts in reasons, grouped so a person can read them.
[[nodiscard]] std::string Grouped(double value);

}  // namespace pgvigil::health
