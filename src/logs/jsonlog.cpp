#include "logs/jsonlog.h"

#include <nlohmann/json.hpp>
#include <string>

namespace pgvigil::logs {
namespace {

// The string value of "key":"..." in a JSON text that may be cut short; nullopt if absent.
std::optional<std::string> ScanJsonString(std::string_view text, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const auto start = text.find(needle);
  if (start == std::string_view::npos) return std::nullopt;
  std::string value;
  for (std::size_t i = start + needle.size(); i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      value += text[++i];
    } else if (text[i] == '"') {
      return value;
    } else {
      value += text[i];
    }
  }
  return value;  // cut off inside the value
}

}  // namespace

std::optional<LogRecord> ParseJsonlog(std::string_view record, bool truncated) {
  if (record.empty()) return std::nullopt;
  LogRecord out;
  if (!truncated) {
    auto json = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
    if (json.is_object()) {
      // A field of another type than PostgreSQL writes is read as absent, never thrown on.
      auto text = [&json](const char* key) {
        const auto it = json.find(key);
        return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      out.time = text("timestamp");
      out.severity = text("error_severity");
      out.sqlstate = text("state_code");
      out.message = text("message");
      out.application_name = text("application_name");
      if (const auto pid = json.find("pid"); pid != json.end() && pid->is_number_integer()) {
        out.pid = pid->get<int>();
      }
      if (out.severity.empty()) return std::nullopt;
      return out;
    }
  }
  auto severity = ScanJsonString(record, "error_severity");
  if (!severity) return std::nullopt;
  out.severity = *severity;
  out.time = ScanJsonString(record, "timestamp").value_or("");
  out.sqlstate = ScanJsonString(record, "state_code").value_or("");
  out.message = ScanJsonString(record, "message").value_or("");
  out.application_name = ScanJsonString(record, "application_name").value_or("");
  return out;
}

}  // namespace pgvigil::logs
