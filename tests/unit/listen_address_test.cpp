#include "config/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pgvigil::config {
namespace {

using ::testing::HasSubstr;

TEST(ListenAddressTest, ListenAddressesAreCheckedStrictly) {
  EXPECT_EQ(ParseListenAddress(":9432").host, "0.0.0.0");
  EXPECT_EQ(ParseListenAddress(":9432").port, 9432);
  EXPECT_EQ(ParseListenAddress("[::1]:56218").host, "::1");
  EXPECT_EQ(ParseListenAddress("[::1]:56218").port, 56218);
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0").host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0").port, 0);
  EXPECT_EQ(ParseListenAddress("db.internal:65535").host, "db.internal");
  for (const char* bad : {"[::1]:56218x", "localhost", ":65536", ":-1", "::1:9432", ":"}) {
    EXPECT_THROW((void)ParseListenAddress(bad), ConfigError) << bad;
  }
}

TEST(ListenAddressTest, ErrorsSayWhatWasExpected) {
  auto error_of = [](const char* address) {
    try {
      (void)ParseListenAddress(address);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("(parsed)");
  };
  EXPECT_THAT(error_of("localhost"),
              HasSubstr("listen address 'localhost': expected HOST:PORT, :PORT or [IPv6]:PORT"));
  EXPECT_THAT(error_of("::1:9432"), HasSubstr("an IPv6 host needs brackets, as [::1]:9432"));
  EXPECT_THAT(error_of(":123456"), HasSubstr("expected a port from 0 to 65535"));
}

}  // namespace
}  // namespace pgvigil::config
