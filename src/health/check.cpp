#include "health/check.h"

#include <cmath>
#include <sstream>

namespace pgvigil::health {

using json = nlohmann::ordered_json;

std::string_view ToString(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kUnknown:
      return "unknown";
    case Level::kWarn:
      return "warn";
    case Level::kCritical:
      return "critical";
  }
  return "unknown";
}

Level LevelOf(double value, double warn, double critical) {
  if (value > critical) return Level::kCritical;
  if (value > warn) return Level::kWarn;
  return Level::kOk;
}

json Check::ToJson() const {
  json check = {{"name", name}, {"level", std::string(ToString(level))}};
  if (detail) check["detail"] = *detail;
  check.update(facts);
  return check;
}

Check Unknown(std::string name, std::string detail) {
  return {std::move(name), Level::kUnknown, std::move(detail)};
}

void Checks::Add(Check check, const std::string& why) {
  if (check.level != Level::kOk) {
    reasons_.push_back(check.name + " " + std::string(ToString(check.level)) + ": " +
                       (why.empty() ? check.detail.value_or("") : why));
  }
  checks_.push_back(std::move(check));
}

void Checks::Ratio(const char* name, double ratio, const config::Thresholds& thresholds,
                   const std::string& what, json extra) {
  const Level level = LevelOf(ratio, thresholds.warn, thresholds.critical);
  const double limit = level == Level::kCritical ? thresholds.critical : thresholds.warn;
  json facts = {
      {"value", Rounded(ratio)}, {"warn", thresholds.warn}, {"critical", thresholds.critical}};
  facts.update(extra);
  Add({name, level, std::nullopt, std::move(facts)}, what + ", > " + Format(limit, 3) + ")");
}

bool Checks::AnyWarnOrCritical() const {
  for (const Check& check : checks_) {
    if (check.level == Level::kWarn || check.level == Level::kCritical) return true;
  }
  return false;
}

json Checks::ToJson() const {
  json checks = json::array();
  for (const Check& check : checks_) checks.push_back(check.ToJson());
  return checks;
}

Check Reachable(const TargetInput& input) {
  if (input.reachable) return {"reachable", Level::kOk};
  return {"reachable", Level::kCritical,
          input.observations->last_error.value_or("no successful probe yet")};
}

std::string Status(const TargetInput& input, const Checks& checks) {
  if (!input.reachable) return "down";
  return checks.AnyWarnOrCritical() ? "degraded" : "ok";
}

std::string MissingData(const TargetInput& input, const std::string& collector) {
  for (const auto& status : input.collectors) {
    if (status.name != collector) continue;
    if (!status.ran) return "the " + collector + " collector has not run yet";
    if (!status.success) return "the " + collector + " collector failed: " + status.error;
    return "the " + collector + " collector returned no data";
  }
  return "the " + collector + " collector is disabled for this target";
}

std::string StatementsMissing(const TargetInput& input) {
  const auto& statements = input.observations->statements;
  if (!statements.unavailable.empty()) return statements.unavailable;
  return MissingData(input, "statements");
}

double Milliseconds(double seconds) { return std::round(seconds * 1e6) / 1e3; }

long long Count(double value) { return std::llround(value); }

double Rounded(double value) { return std::round(value * 1e4) / 1e4; }

std::string Format(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  std::string text = out.str();
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

}  // namespace pgvigil::health
