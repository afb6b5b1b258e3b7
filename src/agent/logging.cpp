#include "agent/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

namespace pgvigil::agent {
namespace {

std::string_view Payload(const spdlog::details::log_msg& message) {
  return {message.payload.data(), message.payload.size()};
}

// %j: the message as a JSON string, quotes and escapes included.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const std::string text = nlohmann::json(std::string(Payload(message)))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %q: the message as a logfmt value, quoted when it holds a space, '=' or a quote, with every
// control character escaped, so a record is one line whatever a server or libpq put in it.
class LogfmtMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text = Payload(message);
    const bool quote = text.empty() || text.find_first_of(" =\"\\") != std::string_view::npos ||
                       std::any_of(text.begin(), text.end(),
                                   [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (quote) dest.push_back('"');
    for (const unsigned char c : text) {
      switch (c) {
        case '"':
          Append(dest, "\\\"");
          break;
        case '\\':
          Append(dest, "\\\\");
          break;
        case '\n':
          Append(dest, "\\n");
          break;
        case '\r':
          Append(dest, "\\r");
          break;
        case '\t':
          Append(dest, "\\t");
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            Append(dest, fmt::format("\\u{:04x}", c));
          } else {
            dest.push_back(static_cast<char>(c));
          }
      }
    }
    if (quote) dest.push_back('"');
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LogfmtMessageFlag>();
  }

 private:
  static void Append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeLogFormatter(const config::LogSettings& settings) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (settings.format == "json") {
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%j})");
  } else {
    formatter->add_flag<LogfmtMessageFlag>('q').set_pattern(
        "ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l msg=%q");
  }
  return formatter;
}

void SetUpLogging(const config::LogSettings& settings) {
  auto logger = spdlog::default_logger();
  if (logger->name() != "pgvigil") {
    logger = std::make_shared<spdlog::logger>("pgvigil",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    spdlog::set_default_logger(logger);
  }
  logger->set_formatter(MakeLogFormatter(settings));
  logger->set_level(spdlog::level::from_str(settings.level));
  logger->flush_on(spdlog::level::info);
}

}  // namespace pgvigil::agent
