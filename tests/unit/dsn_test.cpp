#include "pg/dsn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pgvigil::pg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DsnTest, RedactsPasswordInUri) {
  const std::string redacted =
      RedactDsn("postgresql://monitor:hunter2@db:5432/app?sslmode=require");
  EXPECT_THAT(redacted, Not(HasSubstr("hunter2")));
  EXPECT_THAT(redacted, HasSubstr("password='REDACTED'"));
  EXPECT_THAT(redacted, HasSubstr("host='db'"));
  EXPECT_THAT(redacted, HasSubstr("sslmode='require'"));
}

TEST(DsnTest, RedactsPasswordInKeywordForm) {
  const std::string redacted = RedactDsn(R"(host=db password='it\'s secret' user=monitor)");
  EXPECT_THAT(redacted, Not(HasSubstr("secret")));
  EXPECT_THAT(redacted, HasSubstr("user='monitor'"));
}

TEST(DsnTest, LeavesDsnWithoutPasswordAsWritten) {
  EXPECT_EQ(RedactDsn("postgresql://monitor@db/postgres"), "postgresql://monitor@db/postgres");
  EXPECT_EQ(RedactDsn(""), "");
}

TEST(DsnTest, NeverEchoesAnUnparsableDsn) {
  EXPECT_EQ(RedactDsn("host='unterminated password=oops"), "<unparsable DSN>");
  EXPECT_NE(DsnError("host='unterminated"), "");
  EXPECT_EQ(DsnError("host=db"), "");
}

}  // namespace
}  // namespace pgvigil::pg
