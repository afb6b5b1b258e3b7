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

TEST(DsnTest, EverySecretLibpqKnowsIsRedacted) {
  const std::string redacted = RedactDsn("host=db sslpassword=k3y-Pass user=monitor");
  EXPECT_EQ(redacted.find("k3y-Pass"), std::string::npos) << redacted;
  EXPECT_NE(redacted.find("sslpassword='REDACTED'"), std::string::npos) << redacted;
  const std::string uri = RedactDsn("postgresql://m:S3cr3t@db/app?sslpassword=k3y");
  EXPECT_EQ(uri.find("S3cr3t"), std::string::npos) << uri;
  EXPECT_EQ(uri.find("k3y"), std::string::npos) << uri;
}

TEST(DsnTest, ANulByteHidesNothing) {
  // Found by fuzz/dsn_fuzzer.cpp: libpq stops at a NUL, so what follows was neither parsed nor
  // redacted.
  const std::string dsn = std::string("host=db user=m") + '\0' + " password=S3cr3t";
  EXPECT_EQ(RedactDsn(dsn), "<unparsable DSN>");
  EXPECT_NE(DsnError(dsn), "");
}

TEST(DsnTest, ParseErrorsNeverEchoTheTokenLibpqQuotes) {
  // libpq: invalid percent-encoded token: "S3cr3t%zz"
  const std::string error = DsnError("postgresql://monitor:S3cr3t%zz@db/postgres");
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find("S3cr3t"), std::string::npos) << error;
  EXPECT_EQ(DsnError("host=db password='S3cr3t").find("S3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace pgvigil::pg
