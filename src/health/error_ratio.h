#pragma once

#include <optional>
#include <string>

#include "collectors/collector.h"
#include "health/health.h"

namespace pgvigil::health {

// The error ratio of one target over the health window (README, the health report): from the
// server log when it is read, else from rollbacks.
struct ErrorRatio {
  std::optional<double> value;
  std::string source;  // "log" or "rollbacks"
  std::string detail;  // why there is no value
  double errors = 0;
  double statements = 0;
  // source "rollbacks" from pg_stat_statements' intervals: the application's transactions and
  // rollbacks (the agent's own and pool housekeeping left out).
  std::optional<double> transactions = std::nullopt;
  double rollbacks = 0;
};

// Rollbacks over commits plus rollbacks in pg_stat_database's deltas; nothing without a delta.
[[nodiscard]] std::optional<double> RollbackRatio(const collectors::Observations& obs);

// Deadlocks in pg_stat_database's deltas.
[[nodiscard]] double Deadlocks(const collectors::Observations& obs);

// Rollbacks over the application's transactions (pg_stat_database less the agent's own and
// the pools' housekeeping run as transactions of their own), over the statements polls'
// intervals; nothing where those polls did not read pg_stat_database.
[[nodiscard]] std::optional<ErrorRatio> ApplicationRollbackRatio(
    const collectors::Observations& obs);

// Application errors over work statements plus those errors, both over the same interval: the
// statements deltas taken while the log was followed, and the errors logged within them (by
// the lines' own times). Nothing until both have a first delta, so a ratio is never errors
// over nothing (README, the health report).
[[nodiscard]] std::optional<ErrorRatio> LogErrorRatio(const collectors::Observations& obs);

// errors / (work statements + errors) when the server log is read, else the rollback ratio;
// without either, no value and the detail saying why.
[[nodiscard]] ErrorRatio ComputeErrorRatio(const TargetInput& input,
                                           std::optional<double> rollback_ratio);

}  // namespace pgvigil::health
