#include "http/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <thread>
#include <vector>

namespace pgvigil::http {
namespace {

std::string Bcrypt(const std::string& password, unsigned long cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt), nullptr);
  auto data = std::make_unique<crypt_data>();
  return crypt_r(password.c_str(), salt, data.get());
}

using Result = BasicAuth::Result;

TEST(BasicAuthTest, AcceptsOnlyTheRightPassword) {
  BasicAuth auth({{"prometheus", Bcrypt("scrape-me", 5)}});
  ASSERT_TRUE(auth.Enabled());
  // "prometheus:scrape-me"
  EXPECT_EQ(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWU="), Result::kAllowed);
  EXPECT_EQ(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWU="), Result::kAllowed);  // cached
  // "prometheus:scrape-mf"
  EXPECT_EQ(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWY="), Result::kDenied);
  // "intruder:scrape-me"
  EXPECT_EQ(auth.Check("Basic aW50cnVkZXI6c2NyYXBlLW1l"), Result::kDenied);
  EXPECT_EQ(auth.Check("Bearer cHJvbWV0aGV1czpzY3JhcGUtbWU="), Result::kDenied);
  EXPECT_EQ(auth.Check("Basic !!!notbase64"), Result::kDenied);
  EXPECT_EQ(auth.Check(""), Result::kDenied);
}

// CPU time of one check, in seconds.
double CheckSeconds(BasicAuth& auth, const std::string& header) {
  const auto start = std::clock();
  (void)auth.Check(header);
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

TEST(BasicAuthTest, UnknownUsersCostWhatWrongPasswordsCost) {
  // Cost 10: about 50 ms of bcrypt. An unknown user that answered without bcrypt would take
  // microseconds; the check is against a ratio, not a duration, so a slow machine passes too.
  BasicAuth auth({{"prometheus", Bcrypt("scrape-me", 10)}});
  const double wrong_password = CheckSeconds(auth, "Basic cHJvbWV0aGV1czpzY3JhcGUtbWY=");
  const double unknown_user = CheckSeconds(auth, "Basic aW50cnVkZXI6c2NyYXBlLW1l");
  EXPECT_GT(unknown_user, wrong_password * 0.5);
  EXPECT_LT(unknown_user, wrong_password * 2.0);
}

TEST(BasicAuthTest, FailedAttemptsBeyondTheCapAreTurnedAwayAtOnce) {
  BasicAuth auth({{"prometheus", Bcrypt("scrape-me", 12)}});
  ASSERT_EQ(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWU="), Result::kAllowed);
  std::vector<Result> results(8, Result::kAllowed);
  {
    std::vector<std::jthread> attackers;
    for (std::size_t i = 0; i < results.size(); ++i) {
      attackers.emplace_back(
          [&auth, &results, i] { results[i] = auth.Check("Basic aW50cnVkZXI6c2NyYXBlLW1l"); });
    }
    // The legitimate scraper, its password verified before, never waits for them.
    EXPECT_EQ(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWU="), Result::kAllowed);
  }
  std::size_t busy = 0;
  for (const Result result : results) {
    EXPECT_NE(result, Result::kAllowed);
    busy += result == Result::kBusy ? 1 : 0;
  }
  EXPECT_GE(busy, 1u);  // 8 at once, 2 checked at a time: the others turned away
}

TEST(BasicAuthTest, NoUsersMeansDisabled) { EXPECT_FALSE(BasicAuth({}).Enabled()); }

}  // namespace
}  // namespace pgvigil::http
