#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "pg/connection.h"
#include "test_server.h"

namespace pgvigil::pg {
namespace {

using ::testing::HasSubstr;
using testing::MonitorDsn;
using ::testing::Not;
using testing::Options;
using testing::TestDsn;
using namespace std::chrono_literals;

std::string Show(Connection& connection, const std::string& setting) {
  return connection.Query("SHOW " + setting).Text(0, 0);
}

TEST(ConnectionTest, MonitoringSessionIsReadOnlyAndBounded) {
  auto options = Options(MonitorDsn());
  options.query_timeout = 1500ms;
  auto connection = Connection::Open(options);
  EXPECT_TRUE(connection->Usable());
  EXPECT_GE(connection->ServerVersionNum(), 120000);
  EXPECT_EQ(Show(*connection, "application_name"), "pgvigil");
  EXPECT_EQ(Show(*connection, "statement_timeout"), "1500ms");
  EXPECT_EQ(Show(*connection, "lock_timeout"), "1500ms");
  EXPECT_EQ(Show(*connection, "default_transaction_read_only"), "on");
  try {
    (void)connection->Query("CREATE TABLE pgvigil_must_not_exist (id int)");
    FAIL() << "a write succeeded on the monitoring session";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kQuery);
    EXPECT_EQ(error.sqlstate(), "25006");  // read_only_sql_transaction
  }
  EXPECT_TRUE(connection->Usable());
}

TEST(ConnectionTest, StatementTimeoutIsATimeoutAndKeepsTheConnection) {
  auto options = Options(MonitorDsn());
  options.query_timeout = 300ms;
  auto connection = Connection::Open(options);
  try {
    (void)connection->Query("SELECT pg_sleep(5)");
    FAIL() << "pg_sleep(5) outlived a 300ms statement_timeout";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kTimeout);
    EXPECT_EQ(error.sqlstate(), "57014");
  }
  EXPECT_TRUE(connection->Usable());
  EXPECT_EQ(connection->Query("SELECT 1 AS one").Text(0, 0), "1");
}

TEST(ConnectionTest, RowsKeepNullsAndColumns) {
  auto connection = Connection::Open(Options(MonitorDsn()));
  const Rows rows =
      connection->Query("SELECT NULL::int AS a, 'x' AS b, 2.5::float8 AS c, true AS d");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows.At(0, rows.Column("a")).has_value());
  EXPECT_FALSE(rows.Number(0, rows.Column("a")).has_value());
  EXPECT_EQ(rows.Text(0, rows.Column("b")), "x");
  EXPECT_DOUBLE_EQ(*rows.Number(0, rows.Column("c")), 2.5);
  EXPECT_EQ(rows.Bool(0, rows.Column("d")), true);
  EXPECT_THROW((void)rows.Column("missing"), Error);
}

TEST(ConnectionTest, RefusedConnectionIsAConnectError) {
  // Port 1 on loopback: nothing listens there.
  auto options = Options("host=127.0.0.1 port=1 user=monitor");
  try {
    (void)Connection::Open(options);
    FAIL() << "connected to port 1";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kConnect);
  }
}

TEST(ConnectionTest, WrongPasswordFailsWithoutEchoingIt) {
  try {
    (void)Connection::Open(Options(TestDsn("monitor", "wrong-password-xyz")));
    FAIL() << "connected with a wrong password";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kConnect);
    EXPECT_THAT(error.what(), HasSubstr("password authentication failed"));
    EXPECT_THAT(error.what(), Not(HasSubstr("wrong-password-xyz")));
  }
}

TEST(ConnectionTest, PasswordOptionOverridesTheDsn) {
  auto options = Options(TestDsn("monitor", "wrong-password"));
  options.password = "monitor-pw";
  EXPECT_TRUE(Connection::Open(options)->Usable());
}

TEST(ConnectionTest, StopRequestAbortsAWaitPromptly) {
  std::stop_source stop;
  auto options = Options(MonitorDsn());
  options.query_timeout = 30s;
  options.stop = stop.get_token();
  auto connection = Connection::Open(options);
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW((void)connection->Query("SELECT pg_sleep(20)"), Error);
  // Aborted, not run to its end: pg_sleep(20) would take 20 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_FALSE(connection->Usable());
  // The server does not notice the closed connection until the sleep ends; end it now, or it
  // completes 20 s later in another test's statement counts.
  auto cleanup = Connection::Open(Options(MonitorDsn()));
  (void)cleanup->Query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()");
}

}  // namespace
}  // namespace pgvigil::pg
