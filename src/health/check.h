#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "config/config.h"
#include "health/health.h"

namespace pgvigil::health {

// How a check judges its target (README, the health report): warn or critical make the target
// degraded; unknown says the data to judge is missing, and why.
enum class Level { kOk, kUnknown, kWarn, kCritical };

// "ok", "unknown", "warn" or "critical": the level as /health writes it.
[[nodiscard]] std::string_view ToString(Level level);

// Critical above `critical`, warn above `warn`, else ok: at a threshold is not past it.
[[nodiscard]] Level LevelOf(double value, double warn, double critical);

// One check of a target: its name and level, the detail saying why it is unknown or critical
// when there is one, and the facts it was judged on, written after those in this order.
struct Check {
  std::string name;
  Level level = Level::kUnknown;
  std::optional<std::string> detail = std::nullopt;
  nlohmann::ordered_json facts = nlohmann::ordered_json::object();

  [[nodiscard]] nlohmann::ordered_json ToJson() const;
};

// A check that cannot be judged, and why.
[[nodiscard]] Check Unknown(std::string name, std::string detail);

// The checks of one target, in the order they were added, and the sentences saying why those
// not ok are not (README, the health report).
class Checks {
 public:
  // `why` is the sentence for a check that is not ok; "" uses its detail.
  void Add(Check check, const std::string& why);

  // A share of a limit judged by warn/critical thresholds (connection slots, pool servers,
  // client connections): the check with its value and thresholds plus `extra`, and the reason
  // `what` followed by the threshold it passed.
  void Ratio(const char* name, double ratio, const config::Thresholds& thresholds,
             const std::string& what,
             nlohmann::ordered_json extra = nlohmann::ordered_json::object());

  [[nodiscard]] bool AnyWarnOrCritical() const;
  [[nodiscard]] nlohmann::ordered_json ToJson() const;
  [[nodiscard]] const nlohmann::ordered_json& reasons() const { return reasons_; }

 private:
  std::vector<Check> checks_;
  nlohmann::ordered_json reasons_ = nlohmann::ordered_json::array();
};

// `reachable`: ok, or critical with the last connection error.
[[nodiscard]] Check Reachable(const TargetInput& input);

// Down when unreachable, else degraded when any check warns or is critical, else ok.
[[nodiscard]] std::string Status(const TargetInput& input, const Checks& checks);

// Why a collector's data is missing, in words an operator can act on.
[[nodiscard]] std::string MissingData(const TargetInput& input, const std::string& collector);

// Why there are no statement figures: pg_stat_statements' own reason, else the collector's.
[[nodiscard]] std::string StatementsMissing(const TargetInput& input);

// Numbers as /health writes them: seconds as milliseconds to the microsecond, counts as whole
// numbers, ratios to four decimals, and `value` in a sentence with at most `digits` decimals.
[[nodiscard]] double Milliseconds(double seconds);
[[nodiscard]] long long Count(double value);
[[nodiscard]] double Rounded(double value);
[[nodiscard]] std::string Format(double value, int digits);

}  // namespace pgvigil::health
