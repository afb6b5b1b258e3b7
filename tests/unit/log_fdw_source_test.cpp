#include "logs/log_fdw_source.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fake_session.h"
#include "logs/csvlog.h"

namespace pgvigil::logs {
namespace {

using testing::FakeSession;
using testing::Row;

// One log file as list_postgres_log_files() lists it and its foreign table returns it.
struct FakeFile {
  std::int64_t size = 0;
  std::vector<Row> rows;
};

const std::vector<std::string> kCsvColumns = {"log_time",       "process_id", "error_severity",
                                              "sql_state_code", "message",    "application_name"};

Row CsvRow(const std::string& severity, const std::string& sqlstate, const std::string& message) {
  return {"2026-11-22 10:00:00.000 UTC", "4242", severity, sqlstate, message, "booking"};
}

// Polls of one follower against canned answers of a server with log_fdw: the grants, the file
// the agent's table covers, the newest file, and the rows of a scan from the offset the follower
// is expected to ask for.
class LogFdwFollowerTest : public ::testing::Test {
 protected:
  struct Server {
    std::string covers;  // the file the table covers, "" = no table
    std::string newest;  // the newest file of the format
    std::map<std::string, FakeFile> files;
    std::map<std::string, std::int64_t> size_after;  // a file's size listed after a scan
    std::map<std::string, std::int64_t> offsets;     // file -> the offset of its scan
    std::string grants = "t";
    std::string standby = "f";
  };

  static Server At(std::string newest, std::map<std::string, FakeFile> files,
                   std::string covers = "") {
    Server server;
    server.newest = std::move(newest);
    server.files = std::move(files);
    server.covers = std::move(covers);
    return server;
  }

  std::string Poll(const Server& server) {
    session_ = FakeSession();
    std::optional<std::string> covers;
    if (!server.covers.empty()) covers = server.covers;
    session_.Respond("may_list", pg::Rows({"may_list", "may_create", "may_use_server",
                                           "may_create_in_schema", "standby", "covers"},
                                          {Row{server.grants, server.grants, server.grants,
                                               server.grants, server.standby, covers}}));
    const auto& newest = server.files.at(server.newest);
    session_.Respond("ORDER BY file_name DESC",
                     pg::Rows({"file_name", "file_size_bytes"},
                              {Row{server.newest, std::to_string(newest.size)}}));
    for (const auto& [name, file] : server.files) {
      const auto after = server.size_after.find(name);
      session_.Respond(
          "WHERE file_name = '" + name + "'",
          pg::Rows(
              {"file_size_bytes"},
              {Row{std::to_string(after == server.size_after.end() ? file.size : after->second)}}));
      if (const auto offset = server.offsets.find(name); offset != server.offsets.end()) {
        const auto from = static_cast<std::size_t>(offset->second);
        std::vector<Row> rows(
            file.rows.begin() + static_cast<std::ptrdiff_t>(std::min(from, file.rows.size())),
            file.rows.end());
        session_.Respond(
            "OFFSET " + std::to_string(from) + " ",
            pg::Rows(format_ == "csvlog" ? kCsvColumns : std::vector<std::string>{"log_entry"},
                     rows));
      }
    }
    const auto& covered = server.files.find(server.newest);
    session_.Respond("SELECT count(*)",
                     pg::Rows({"count"}, {Row{std::to_string(covered->second.rows.size())}}));
    for (const char* statement : {"BEGIN READ WRITE", "set_config('search_path'", "DROP FOREIGN",
                                  "create_foreign_table_for_log_file(", "COMMIT", "ROLLBACK"}) {
      session_.Respond(statement, pg::Rows());
    }
    std::string got;
    follower_.Poll(
        session_, [&](std::string_view bytes) { got += bytes; }, [&] { got += "|ROTATED|"; });
    return got;
  }

  [[nodiscard]] bool Sent(std::string_view needle) const {
    for (const auto& query : session_.queries()) {
      if (query.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  std::string format_ = "csvlog";
  LogFdwFollower follower_{"csvlog", "log_server", "pgvigil"};
  FakeSession session_;
};

constexpr const char* kHour10 = "postgresql.log.2026-11-22-10.csv";
constexpr const char* kHour11 = "postgresql.log.2026-11-22-11.csv";

TEST_F(LogFdwFollowerTest, StartsAtTheEndCreatingTheTableInOneWritableTransaction) {
  const Server server =
      At(kHour10, {{kHour10, {300, {CsvRow("LOG", "00000", "a"), CsvRow("LOG", "00000", "b")}}}});
  EXPECT_EQ(Poll(server), "");
  const auto& queries = session_.queries();
  ASSERT_EQ(queries.size(), 7u);
  EXPECT_EQ(queries[2], "BEGIN READ WRITE");
  EXPECT_EQ(queries[3],
            "SELECT set_config('search_path', '\"pgvigil\"' || ', ' || "
            "current_setting('search_path'), true)");
  EXPECT_EQ(queries[4],
            "SELECT create_foreign_table_for_log_file('pgvigil_log_csvlog', "
            "'log_server', 'postgresql.log.2026-11-22-10.csv')");
  EXPECT_EQ(queries[5], "COMMIT");
  EXPECT_EQ(queries[6], "SELECT count(*) FROM \"pgvigil\".\"pgvigil_log_csvlog\"");
  EXPECT_FALSE(Sent("DROP"));
}

TEST_F(LogFdwFollowerTest, ReadsNewRowsOnceAndScansOnlyWhenTheFileGrew) {
  Server server = At(kHour10, {{kHour10, {100, {CsvRow("LOG", "00000", "old")}}}});
  (void)Poll(server);
  server.covers = kHour10;
  server.files[kHour10] = {250,
                           {CsvRow("LOG", "00000", "old"),
                            CsvRow("ERROR", "22012",
                                   "division, "
                                   "by \"zero\""),
                            CsvRow("WARNING", "01000", "two\nlines")}};
  server.offsets[kHour10] = 1;
  const std::string got = Poll(server);
  EXPECT_FALSE(Sent("BEGIN"));  // the table covers the file already
  // The rows come as csvlog records, which the csvlog parser reads back.
  const std::string first = got.substr(0, got.find('\n') + 1);
  const auto record = ParseCsvlog(std::string_view(first).substr(0, first.size() - 1));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->time, "2026-11-22 10:00:00.000 UTC");
  EXPECT_EQ(record->pid, 4242);
  EXPECT_EQ(record->severity, "ERROR");
  EXPECT_EQ(record->sqlstate, "22012");
  EXPECT_EQ(record->message, "division, by \"zero\"");
  EXPECT_EQ(record->application_name, "booking");
  const auto second =
      ParseCsvlog(std::string_view(got).substr(first.size(), got.size() - first.size() - 1));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->message, "two\nlines");
  // Unchanged size: the listing only, no scan.
  EXPECT_EQ(Poll(server), "");
  EXPECT_FALSE(Sent("OFFSET"));
  EXPECT_EQ(session_.queries().size(), 2u);
}

TEST_F(LogFdwFollowerTest, ALastRowWrittenDuringTheScanIsReadAgain) {
  Server server = At(kHour10, {{kHour10, {100, {CsvRow("LOG", "00000", "old")}}}});
  (void)Poll(server);
  server.covers = kHour10;
  server.files[kHour10] = {300,
                           {CsvRow("LOG", "00000", "old"), CsvRow("ERROR", "22012", "whole"),
                            CsvRow("ERROR", "23505", "partial")}};
  server.offsets[kHour10] = 1;
  server.size_after[kHour10] = 350;  // grew while scanned
  std::string got = Poll(server);
  EXPECT_NE(got.find("whole"), std::string::npos);
  EXPECT_EQ(got.find("partial"), std::string::npos);
  server.files[kHour10].rows[2] = CsvRow("ERROR", "23505", "partial no more");
  server.files[kHour10].size = 350;
  server.size_after.clear();
  server.offsets[kHour10] = 2;
  got = Poll(server);
  EXPECT_NE(got.find("partial no more"), std::string::npos);
  EXPECT_EQ(got.find("whole"), std::string::npos);
}

TEST_F(LogFdwFollowerTest, FollowsANewerFileReadingTheRestOfTheOldOneFirst) {
  Server server = At(kHour10, {{kHour10, {100, {CsvRow("LOG", "00000", "a")}}}});
  (void)Poll(server);
  server.covers = kHour10;
  server.newest = kHour11;
  server.files[kHour10] = {200, {CsvRow("LOG", "00000", "a"), CsvRow("ERROR", "22012", "last")}};
  server.files[kHour11] = {100, {CsvRow("ERROR", "42P01", "first")}};
  server.offsets[kHour10] = 1;
  server.offsets[kHour11] = 0;
  const std::string got = Poll(server);
  const auto rotated = got.find("|ROTATED|");
  ASSERT_NE(rotated, std::string::npos);
  EXPECT_NE(got.substr(0, rotated).find("last"), std::string::npos);
  EXPECT_NE(got.substr(rotated).find("first"), std::string::npos);
  // The table is dropped and created over the new file in one transaction.
  std::vector<std::string> writes;
  for (const auto& query : session_.queries()) {
    if (query.starts_with("BEGIN") || query.starts_with("DROP") || query.starts_with("COMMIT") ||
        query.starts_with("SELECT create_foreign_table_for_log_file(")) {
      writes.push_back(query);
    }
  }
  ASSERT_EQ(writes.size(), 4u);
  EXPECT_EQ(writes[0], "BEGIN READ WRITE");
  EXPECT_EQ(writes[1], "DROP FOREIGN TABLE \"pgvigil\".\"pgvigil_log_csvlog\"");
  EXPECT_NE(writes[2].find(kHour11), std::string::npos);
  EXPECT_EQ(writes[3], "COMMIT");
}

TEST_F(LogFdwFollowerTest, ARestartedAgentReusesItsTable) {
  Server server = At(kHour10, {{kHour10, {100, {CsvRow("LOG", "00000", "a")}}}}, kHour10);
  EXPECT_EQ(Poll(server), "");
  EXPECT_FALSE(Sent("BEGIN"));
  EXPECT_TRUE(Sent("SELECT count(*)"));
}

TEST_F(LogFdwFollowerTest, ATableOverAnotherFileIsReplacedAtTheStart) {
  Server server = At(kHour10, {{kHour10, {100, {CsvRow("LOG", "00000", "a")}}}},
                     "postgresql.log.2026-11-21-09.csv");
  (void)Poll(server);
  EXPECT_TRUE(Sent("DROP FOREIGN TABLE"));
  EXPECT_TRUE(Sent(kHour10));
}

TEST_F(LogFdwFollowerTest, WithoutTheGrantsNothingIsCalledThatWouldFail) {
  Server server = At(kHour10, {{kHour10, {100, {}}}});
  server.grants = "f";
  try {
    (void)Poll(server);
    FAIL() << "read a log the role may not read";
  } catch (const pg::Error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("EXECUTE on list_postgres_log_files()"), std::string::npos);
    EXPECT_NE(what.find("USAGE on FOREIGN SERVER log_server"), std::string::npos);
    EXPECT_NE(what.find("CREATE and USAGE on the schema pgvigil"), std::string::npos);
  }
  ASSERT_EQ(session_.queries().size(), 1u);
  // Privileges are asked of oids from to_regprocedure/to_regnamespace: NULL, not an error,
  // where the function or schema does not exist.
  EXPECT_NE(session_.queries()[0].find("has_function_privilege(to_regprocedure("),
            std::string::npos);
  EXPECT_NE(session_.queries()[0].find("to_regnamespace('\"pgvigil\"')"), std::string::npos);
}

TEST_F(LogFdwFollowerTest, AStandbyIsAnErrorBeforeAnyWrite) {
  Server server = At(kHour10, {{kHour10, {100, {}}}});
  server.standby = "t";
  EXPECT_THROW((void)Poll(server), pg::Error);
  EXPECT_EQ(session_.queries().size(), 1u);
}

TEST_F(LogFdwFollowerTest, AFailedCreateIsRolledBack) {
  FakeSession session;
  session.Respond("may_list", pg::Rows({"may_list", "may_create", "may_use_server",
                                        "may_create_in_schema", "standby", "covers"},
                                       {Row{"t", "t", "t", "t", "f", std::nullopt}}));
  session.Respond("ORDER BY file_name DESC",
                  pg::Rows({"file_name", "file_size_bytes"}, {Row{kHour10, "100"}}));
  session.Respond("BEGIN READ WRITE", pg::Rows());
  session.Respond("set_config", pg::Rows());
  session.Respond("ROLLBACK", pg::Rows());
  // No answer for create_foreign_table_for_log_file: it fails.
  EXPECT_THROW(follower_.Poll(
                   session, [](std::string_view) {}, [] {}),
               pg::Error);
  EXPECT_EQ(session.queries().back(), "ROLLBACK");
}

TEST_F(LogFdwFollowerTest, StderrFilesAreReadAsLines) {
  format_ = "stderr";
  follower_ = LogFdwFollower("stderr", "log_server", "pgvigil");
  const std::string file = "postgresql.log.2026-11-22-10";
  Server server = At(file, {{file, {50, {Row{"2026-11-22 10:00:00 UTC::@:[1]:LOG:  x"}}}}});
  (void)Poll(server);
  EXPECT_TRUE(Sent("file_name NOT LIKE '%.csv' AND file_name NOT LIKE '%.json'"));
  EXPECT_TRUE(Sent("'pgvigil_log_stderr'"));
  server.covers = file;
  server.files[file] = {150,
                        {Row{"2026-11-22 10:00:00 UTC::@:[1]:LOG:  x"},
                         Row{"2026-11-22 10:00:01 UTC:10.0.0.1(5):app@db:[2]:ERROR:  boom"},
                         Row{"2026-11-22 10:00:01 UTC:10.0.0.1(5):app@db:[2]:STATEMENT:  SELECT"},
                         Row{std::nullopt}}};
  server.offsets[file] = 1;
  EXPECT_EQ(Poll(server),
            "2026-11-22 10:00:01 UTC:10.0.0.1(5):app@db:[2]:ERROR:  boom\n"
            "2026-11-22 10:00:01 UTC:10.0.0.1(5):app@db:[2]:STATEMENT:  SELECT\n\n");
  EXPECT_TRUE(Sent("SELECT log_entry FROM \"pgvigil\".\"pgvigil_log_stderr\" OFFSET 1 LIMIT"));
}

TEST(CsvlogRecordTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(CsvlogRecord("t", "1", "ERROR", "22012", "a \"b\", c", "app"),
            "t,,,1,,,,,,,,ERROR,22012,\"a \"\"b\"\", c\",,,,,,,,,app\n");
}

}  // namespace
}  // namespace pgvigil::logs
