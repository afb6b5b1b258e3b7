#include "http/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <memory>

namespace pgvigil::http {
namespace {

std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt), nullptr);
  auto data = std::make_unique<crypt_data>();
  return crypt_r(password.c_str(), salt, data.get());
}

TEST(BasicAuthTest, AcceptsOnlyTheRightPassword) {
  BasicAuth auth({{"prometheus", Bcrypt("scrape-me")}});
  ASSERT_TRUE(auth.Enabled());
  // "prometheus:scrape-me"
  EXPECT_TRUE(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWU="));
  EXPECT_TRUE(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWU="));  // from the cache
  // "prometheus:scrape-mf"
  EXPECT_FALSE(auth.Check("Basic cHJvbWV0aGV1czpzY3JhcGUtbWY="));
  // "intruder:scrape-me"
  EXPECT_FALSE(auth.Check("Basic aW50cnVkZXI6c2NyYXBlLW1l"));
  EXPECT_FALSE(auth.Check("Bearer cHJvbWV0aGV1czpzY3JhcGUtbWU="));
  EXPECT_FALSE(auth.Check("Basic !!!notbase64"));
  EXPECT_FALSE(auth.Check(""));
}

TEST(BasicAuthTest, NoUsersMeansDisabled) { EXPECT_FALSE(BasicAuth({}).Enabled()); }

}  // namespace
}  // namespace pgvigil::http
