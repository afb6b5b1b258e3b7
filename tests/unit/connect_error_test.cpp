#include "pg/connect_error.h"

#include <gtest/gtest.h>

namespace pgvigil::pg {
namespace {

// Messages as libpq 15 wrote them against PostgreSQL 15 with PQERRORS_VERBOSE set before the
// startup packet was answered.
TEST(ConnectErrorTest, RoleConnectionLimitIs53300) {
  const auto failure = ParseConnectError(
      "connection to server at \"127.0.0.1\", port 57831 failed: FATAL:  53300: too many "
      "connections for role \"lim\"\nLOCATION:  InitializeSessionUserId, miscinit.c:842\n");
  EXPECT_EQ(failure.sqlstate, "53300");
  EXPECT_EQ(failure.message,
            "connection to server at \"127.0.0.1\", port 57831 failed: FATAL:  53300: too many "
            "connections for role \"lim\"");
}

TEST(ConnectErrorTest, ShuttingDownIs57P03) {
  const auto failure = ParseConnectError(
      "connection to server at \"127.0.0.1\", port 57831 failed: FATAL:  57P03: the database "
      "system is shutting down\nLOCATION:  ProcessStartupPacket, postmaster.c:2432\n");
  EXPECT_EQ(failure.sqlstate, "57P03");
  EXPECT_EQ(failure.message.find("LOCATION"), std::string::npos);
}

// The server translates the severity (lc_messages) and the text, never the SQLSTATE.
TEST(ConnectErrorTest, TranslatedSeverityAndTextStillClassify) {
  EXPECT_EQ(ParseConnectError("connection to server at \"db\", port 5432 failed: "
                              "ВАЖНО:  53300: слишком много подключений для роли \"web\"\n")
                .sqlstate,
            "53300");
  EXPECT_EQ(ParseConnectError("FATAL:  53300\n").sqlstate, "53300");  // PQERRORS_SQLSTATE
}

TEST(ConnectErrorTest, NetworkAndClientErrorsHaveNoSqlstate) {
  const auto refused = ParseConnectError(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server "
      "running on that host and accepting TCP/IP connections?\n");
  EXPECT_EQ(refused.sqlstate, "");
  EXPECT_EQ(refused.message,
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the "
            "server running on that host and accepting TCP/IP connections?");
  EXPECT_EQ(ParseConnectError("timeout expired\n").sqlstate, "");
  EXPECT_EQ(ParseConnectError("").message, "unknown libpq error");
  EXPECT_EQ(ParseConnectError("FATAL:  5330").sqlstate, "");
  EXPECT_EQ(ParseConnectError("FATAL:  53300x: no").sqlstate, "");
  EXPECT_EQ(ParseConnectError("FATAL:  too many clients: 53300").sqlstate, "");
}

// Several hosts in the DSN: each attempt's error follows the last; the last SQLSTATE is the
// server's answer to the attempt that ended the connect.
TEST(ConnectErrorTest, SeveralHostsTakeTheLastServerAnswer) {
  const auto failure = ParseConnectError(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server "
      "running on that host and accepting TCP/IP connections?\nconnection to server at "
      "\"127.0.0.1\", port 57831 failed: FATAL:  53300: too many connections for role "
      "\"lim\"\nLOCATION:  InitializeSessionUserId, miscinit.c:842\n");
  EXPECT_EQ(failure.sqlstate, "53300");
}

// A name quoted in the text cannot pose as the SQLSTATE: only the first match of a line counts.
TEST(ConnectErrorTest, QuotedNamesDoNotPoseAsSqlstate) {
  EXPECT_EQ(ParseConnectError("FATAL:  28P01: password authentication failed for user "
                              "\"a:  57P03: b\"\n")
                .sqlstate,
            "28P01");
}

}  // namespace
}  // namespace pgvigil::pg
