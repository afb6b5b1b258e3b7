#include "config/duration.h"

#include <gtest/gtest.h>

namespace pgvigil::config {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesGoStyleDurations) {
  EXPECT_EQ(ParseDuration("250ms"), Duration(250ms));
  EXPECT_EQ(ParseDuration("5s"), Duration(5s));
  EXPECT_EQ(ParseDuration("1m"), Duration(1min));
  EXPECT_EQ(ParseDuration("1h"), Duration(1h));
  EXPECT_EQ(ParseDuration("1m30s"), Duration(90s));
  EXPECT_EQ(ParseDuration("0s"), Duration(0s));
  EXPECT_EQ(ParseDuration("0"), Duration(0s));
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "5", "s", "5 s", "-5s", "5sec", "1.5s", "abc", "5s "}) {
    EXPECT_FALSE(ParseDuration(text).has_value()) << text;
  }
}

TEST(DurationTest, FormatRoundTrips) {
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(0s), "0s");
  for (auto value : {Duration(1500ms), Duration(3h), Duration(61s)}) {
    EXPECT_EQ(ParseDuration(FormatDuration(value)), value);
  }
}

}  // namespace
}  // namespace pgvigil::config
