#include "health/error_ratio.h"

#include <algorithm>
#include <cstdint>

#include "health/check.h"

namespace pgvigil::health {

std::optional<double> RollbackRatio(const collectors::Observations& obs) {
  if (obs.database.empty()) return std::nullopt;
  double commits = 0;
  double rollbacks = 0;
  for (const auto& step : obs.database) {
    commits += step.commits;
    rollbacks += step.rollbacks;
  }
  return commits + rollbacks > 0 ? rollbacks / (commits + rollbacks) : 0.0;
}

double Deadlocks(const collectors::Observations& obs) {
  double deadlocks = 0;
  for (const auto& step : obs.database) deadlocks += step.deadlocks;
  return deadlocks;
}

std::optional<ErrorRatio> ApplicationRollbackRatio(const collectors::Observations& obs) {
  if (!obs.statements.available) return std::nullopt;
  ErrorRatio ratio{std::nullopt, "rollbacks", ""};
  double transactions = 0;
  bool any = false;
  for (const auto& step : obs.statements.window) {
    if (!step.has_transactions) continue;
    any = true;
    transactions += step.transactions;
    ratio.rollbacks += step.rollbacks;
  }
  if (!any) return std::nullopt;
  ratio.transactions = transactions;
  // Rollbacks can show before the transactions they end are counted as the application's (the
  // housekeeping before them seen first): never more than every transaction failing.
  ratio.value = transactions > 0 ? std::min(1.0, ratio.rollbacks / transactions)
                                 : (ratio.rollbacks > 0 ? 1.0 : 0.0);
  return ratio;
}

std::optional<ErrorRatio> LogErrorRatio(const collectors::Observations& obs) {
  if (!obs.log.started) return std::nullopt;
  ErrorRatio ratio{std::nullopt, "log", ""};
  std::optional<std::int64_t> from;
  std::int64_t to = 0;
  for (const auto& step : obs.statements.window) {
    if (step.from < *obs.log.started) continue;
    // A window is judged once the pipeline has delivered a heartbeat written after its end:
    // lines arrive late, and an error not here yet must not read as a success.
    if (obs.log.heartbeat &&
        (!obs.log.delivered_to_ms || step.at_log_ms > *obs.log.delivered_to_ms)) {
      break;
    }
    ratio.statements += step.work_calls;
    if (!from) from = step.from_log_ms;
    to = step.at_log_ms;
  }
  if (!from) return std::nullopt;
  for (const std::int64_t at : obs.log.error_times) {
    if (at > *from && at <= to) ratio.errors += 1;
  }
  const double total = ratio.statements + ratio.errors;
  ratio.value = total > 0 ? ratio.errors / total : 0.0;
  return ratio;
}

ErrorRatio ComputeErrorRatio(const TargetInput& input, std::optional<double> rollback_ratio) {
  const collectors::Observations& obs = *input.observations;
  if (obs.log.available && obs.statements.available) {
    if (auto ratio = LogErrorRatio(obs)) return *ratio;
    if (obs.log.heartbeat && !obs.statements.window.empty()) {
      return {std::nullopt, "",
              "waiting for the log pipeline to deliver the agent's heartbeat line past the end "
              "of a statements window (" +
                  (obs.log.delivered_to_ms ? std::string("it is behind")
                                           : std::string("no heartbeat has arrived yet")) +
                  ")"};
    }
    return {std::nullopt, "",
            "waiting for the first statement and log deltas over the same interval (one "
            "statements_interval after start or after pg_stat_statements appeared)"};
  }
  if (auto application = ApplicationRollbackRatio(obs)) return *application;
  if (rollback_ratio) return {rollback_ratio, "rollbacks", ""};
  if (obs.log.available) {
    return {std::nullopt, "", "needs statement counts: " + StatementsMissing(input)};
  }
  return {std::nullopt, "",
          "no log source, and " + MissingData(input, "database") +
              " (the rollback ratio needs two collections)"};
}

}  // namespace pgvigil::health
