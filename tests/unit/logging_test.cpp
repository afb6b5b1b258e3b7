#include "agent/logging.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>
#include <string>

namespace pgvigil::agent {
namespace {

std::string Format(const std::string& format, const std::string& text) {
  config::LogSettings settings;
  settings.format = config::LogFormat(format);
  const auto formatter = MakeLogFormatter(settings);
  const spdlog::details::log_msg message("pgvigil", spdlog::level::warn, text);
  spdlog::memory_buf_t out;
  formatter->format(message, out);
  return {out.data(), out.size()};
}

// What libpq prints for a refused connection: several lines, a tab, quotes.
constexpr const char* kLibpqError =
    "target \"db\": connection to server at \"10.0.0.1\", port 5432 failed: Connection "
    "refused\n\tIs the server running on that host and accepting TCP/IP connections?\n";

TEST(LogFormatTest, LogfmtKeepsARecordOnOneLineWithItsTextRecoverable) {
  const std::string line = Format("logfmt", kLibpqError);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u) << line;
  EXPECT_NE(line.find(" level=warning msg=\"target \\\"db\\\": connection"), std::string::npos)
      << line;
  EXPECT_NE(line.find("refused\\n\\tIs the server"), std::string::npos) << line;
}

TEST(LogFormatTest, LogfmtQuotesOnlyWhatNeedsQuoting) {
  EXPECT_NE(Format("logfmt", "stopped").find(" msg=stopped\n"), std::string::npos);
  EXPECT_NE(Format("logfmt", "a=b").find(" msg=\"a=b\"\n"), std::string::npos);
  EXPECT_NE(Format("logfmt", "back\\slash").find(" msg=\"back\\\\slash\"\n"), std::string::npos);
  EXPECT_NE(Format("logfmt", std::string("bell\x07")).find(" msg=\"bell\\u0007\"\n"),
            std::string::npos);
}

TEST(LogFormatTest, TextIsAnAliasOfLogfmt) {
  EXPECT_EQ(config::LogFormat("text"), "logfmt");
  const std::string line = Format("text", "x y");
  EXPECT_NE(line.find(" msg=\"x y\"\n"), std::string::npos) << line;
}

TEST(LogFormatTest, JsonIsOneObjectPerLineWithTheWholeMessage) {
  const std::string line = Format("json", kLibpqError);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  const auto record = nlohmann::json::parse(line);
  EXPECT_EQ(record["msg"], kLibpqError);
  EXPECT_EQ(record["level"], "warning");
}

}  // namespace
}  // namespace pgvigil::agent
