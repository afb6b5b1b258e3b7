#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "collectors/log.h"
#include "fake_session.h"
#include "logs/csvlog.h"
#include "logs/file_source.h"
#include "logs/jsonlog.h"
#include "logs/log_time.h"
#include "logs/splitter.h"
#include "logs/sql_source.h"
#include "metrics_lookup.h"

namespace pgvigil::collectors {
namespace {

using logs::DecodeHexBytea;
using logs::FileFollower;
using logs::IsoTimestamp;
using logs::LogTimeMillis;
using logs::ParseCsvlog;
using logs::ParseJsonlog;
using logs::RecordSplitter;
using logs::ServerLogFollower;

std::vector<std::pair<std::string, bool>> Split(bool csv, std::size_t max,
                                                const std::vector<std::string>& chunks) {
  std::vector<std::pair<std::string, bool>> records;
  RecordSplitter splitter(csv, max);
  for (const auto& chunk : chunks) {
    splitter.Feed(chunk, [&](std::string_view r, bool t) { records.emplace_back(r, t); });
  }
  return records;
}

TEST(RecordSplitterTest, LinesAcrossChunks) {
  auto records = Split(false, 100, {"{\"a\":1}\n{\"b\"", ":2}\n{\"c\":3"});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].first, "{\"a\":1}");
  EXPECT_EQ(records[1].first, "{\"b\":2}");
}

TEST(RecordSplitterTest, CsvQuotedNewlinesStayInTheRecord) {
  auto records = Split(true, 100, {"a,\"multi\nline \"\"x\"\"\",b\nc,d\n"});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].first, "a,\"multi\nline \"\"x\"\"\",b");
  EXPECT_EQ(records[1].first, "c,d");
}

TEST(RecordSplitterTest, HugeRecordIsCutButTheNextOneIsIntact) {
  const std::string huge(1 << 20, 'x');
  auto records = Split(false, 1024, {"start" + huge, huge + "\nnext\n"});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].first.size(), 1024u);
  EXPECT_TRUE(records[0].second);
  EXPECT_EQ(records[1].first, "next");
  EXPECT_FALSE(records[1].second);
}

TEST(ParseJsonlogTest, FieldsAndNeverTheStatement) {
  auto record = ParseJsonlog(
      R"json({"timestamp":"2026-11-22 10:00:00.000 UTC","user":"web","error_severity":"ERROR","state_code":"23505","message":"duplicate key value violates unique constraint \"t_pkey\"","statement":"insert into t values (42)","application_name":"booking"})json",
      false);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->application_name, "booking");
  EXPECT_EQ(record->severity, "ERROR");
  EXPECT_EQ(record->sqlstate, "23505");
  EXPECT_EQ(record->message, "duplicate key value violates unique constraint \"t_pkey\"");
  EXPECT_EQ(record->time, "2026-11-22 10:00:00.000 UTC");
  EXPECT_FALSE(ParseJsonlog("not json", false));
  EXPECT_FALSE(ParseJsonlog("", false));
}

TEST(ParseJsonlogTest, FieldsOfAnotherTypeAreAbsentNeverAnException) {
  // Found by fuzz/jsonlog_fuzzer.cpp: a number where a string belongs terminated the agent.
  EXPECT_FALSE(ParseJsonlog(R"({"timestamp":552})", false));
  EXPECT_FALSE(ParseJsonlog(R"({"error_severity":5,"message":"x"})", false));
  auto record =
      ParseJsonlog(R"({"error_severity":"ERROR","state_code":["x"],"timestamp":{}})", false);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->sqlstate, "");
  EXPECT_EQ(record->time, "");
}

TEST(ParseJsonlogTest, TruncatedRecordStillCounts) {
  const std::string prefix =
      R"({"timestamp":"t","error_severity":"ERROR","state_code":"22P02","message":"invalid input syntax: )";
  auto record = ParseJsonlog(prefix + std::string(1000, 'x'), true);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->severity, "ERROR");
  EXPECT_EQ(record->sqlstate, "22P02");
  EXPECT_EQ(record->application_name, "");  // cut off: counted as the application's
  record =
      ParseJsonlog(R"({"error_severity":"ERROR","application_name":"pgvigil","message":"ca)", true);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->application_name, "pgvigil");
}

TEST(ParseCsvlogTest, Fields) {
  auto record = ParseCsvlog(
      "2026-11-22 10:00:00.000 UTC,\"web\",\"app\",123,\"127.0.0.1:5000\",abc.1,1,\"SELECT\","
      "2026-11-22 09:00:00 UTC,3/4,0,ERROR,22012,\"division by zero\",,,,,,\"select 1/0, "
      "\"\"x\"\"\n"
      "from t\",,,\"psql\",\"client backend\",,0");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->severity, "ERROR");
  EXPECT_EQ(record->sqlstate, "22012");
  EXPECT_EQ(record->message, "division by zero");
  EXPECT_EQ(record->time, "2026-11-22 10:00:00.000 UTC");
  EXPECT_EQ(record->application_name, "psql");
  EXPECT_FALSE(ParseCsvlog("just,a,few,fields"));
}

TEST(LogTimeMillisTest, WallTimeAsMillisecondsWhateverTheZone) {
  // 2026-11-22 09:59:31.123 read as UTC.
  EXPECT_EQ(LogTimeMillis("2026-11-22 09:59:31.123 UTC"), 1795341571123);
  EXPECT_EQ(LogTimeMillis("2026-11-22 09:59:31.123 CET"), 1795341571123);
  EXPECT_EQ(LogTimeMillis("2026-11-22 09:59:31 UTC"), 1795341571000);
  EXPECT_EQ(LogTimeMillis("1970-01-01 00:00:01.000 UTC"), 1000);
  EXPECT_FALSE(LogTimeMillis(""));
  EXPECT_FALSE(LogTimeMillis("2026-13-22 09:59:31.123 UTC"));
  EXPECT_FALSE(LogTimeMillis("not a time at all, not at all"));
}

TEST(IsoTimestampTest, EpochMillisecondsAsUtc) {
  EXPECT_EQ(logs::IsoFromEpochMillis(1795341571123), "2026-11-22T09:59:31Z");
  EXPECT_EQ(logs::IsoFromEpochMillis(0), "1970-01-01T00:00:00Z");
}

TEST(IsoTimestampTest, UtcBecomesIso8601) {
  EXPECT_EQ(IsoTimestamp("2026-11-22 09:59:31.123 UTC"), "2026-11-22T09:59:31Z");
  EXPECT_EQ(IsoTimestamp("2026-11-22 09:59:31 UTC"), "2026-11-22T09:59:31Z");
  EXPECT_EQ(IsoTimestamp("2026-11-22 10:59:31.123 CET"), "2026-11-22 10:59:31.123 CET");
  EXPECT_EQ(IsoTimestamp(""), "");
}

class FileFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("pgvigil-follow-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "postgresql.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(const std::string& text, const std::string& path = "") {
    std::ofstream(path.empty() ? path_ : path, std::ios::app) << text;
  }
  std::string Read(FileFollower& follower) {
    std::string got;
    follower.Poll([&](std::string_view bytes) { got += bytes; }, [&] { got += "|ROTATED|"; });
    return got;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(FileFollowerTest, StartsAtTheEndAndReadsEachByteOnce) {
  Append("history\n");
  FileFollower follower(path_);
  EXPECT_EQ(Read(follower), "");
  Append("one\n");
  EXPECT_EQ(Read(follower), "one\n");
  EXPECT_EQ(Read(follower), "");
  Append("two\n");
  EXPECT_EQ(Read(follower), "two\n");
}

TEST_F(FileFollowerTest, FollowsRenameRotation) {
  Append("old\n");
  FileFollower follower(path_);
  (void)Read(follower);
  Append("last of old\n");
  std::filesystem::rename(path_, path_ + ".1");
  Append("late write to old\n", path_ + ".1");  // the writer had it open
  Append("first of new\n");
  EXPECT_EQ(Read(follower), "last of old\nlate write to old\n|ROTATED|first of new\n");
  Append("more\n");
  EXPECT_EQ(Read(follower), "more\n");
}

TEST_F(FileFollowerTest, FollowsCopyTruncate) {
  Append("0123456789\n");
  FileFollower follower(path_);
  (void)Read(follower);
  std::filesystem::resize_file(path_, 0);
  Append("after\n");
  EXPECT_EQ(Read(follower), "after\n");
}

TEST_F(FileFollowerTest, MissingFileIsAnError) {
  FileFollower follower((dir_ / "absent.json").string());
  EXPECT_THROW(Read(follower), std::runtime_error);
}

}  // namespace
}  // namespace pgvigil::collectors

namespace pgvigil::collectors {
namespace {

using testing::FakeSession;
using testing::Row;

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

TEST(DecodeHexByteaTest, Bytes) {
  EXPECT_EQ(DecodeHexBytea("\\x41420a"), "AB\n");
  EXPECT_EQ(DecodeHexBytea("\\x"), "");
  EXPECT_THROW((void)DecodeHexBytea("AB"), pg::Error);
  EXPECT_THROW((void)DecodeHexBytea("\\xzz"), pg::Error);
}

// One poll of the server follower against canned answers: the current file, and for each file
// its size and the bytes from the offset the follower asks for.
class ServerLogFollowerTest : public ::testing::Test {
 protected:
  std::string Poll(const std::string& current, const std::map<std::string, std::string>& files) {
    FakeSession session;
    session.Respond("pg_current_logfile", pg::Rows({"allowed", "path"}, {Row{"t", current}}));
    for (const auto& [name, content] : files) {
      // The read names the offset; answer for the one this follower is at.
      const std::string from = name == expected_path_ ? std::to_string(offset_) : "0";
      session.Respond(
          "pg_read_binary_file('" + name + "', " + from,
          pg::Rows({"size", "chunk"},
                   {Row{std::to_string(content.size()),
                        Hex(content.substr(std::min(content.size(), std::stoul(from))))}}));
      session.Respond("pg_read_binary_file('" + name + "'",
                      pg::Rows({"size", "chunk"}, {Row{std::to_string(content.size()), "\\x"}}));
      session.Respond("pg_stat_file('" + name + "', true)",
                      pg::Rows({"size"}, {Row{std::to_string(content.size())}}));
    }
    std::string got;
    follower_.Poll(
        session, [&](std::string_view bytes) { got += bytes; }, [&] { got += "|ROTATED|"; });
    return got;
  }

  ServerLogFollower follower_{"jsonlog"};
  std::string expected_path_;
  std::size_t offset_ = 0;
};

TEST_F(ServerLogFollowerTest, StartsAtTheEndThenReadsGrowthOnce) {
  EXPECT_EQ(Poll("log/a.json", {{"log/a.json", "history\n"}}), "");
  expected_path_ = "log/a.json";
  offset_ = 8;
  EXPECT_EQ(Poll("log/a.json", {{"log/a.json", "history\nnew line\n"}}), "new line\n");
}

TEST_F(ServerLogFollowerTest, FollowsRotationToANewName) {
  (void)Poll("log/a.json", {{"log/a.json", "old\n"}});
  expected_path_ = "log/a.json";
  offset_ = 4;
  EXPECT_EQ(Poll("log/b.json", {{"log/a.json", "old\nlast\n"}, {"log/b.json", "first\n"}}),
            "last\n|ROTATED|first\n");
}

TEST_F(ServerLogFollowerTest, NoSuchLogIsAnError) {
  FakeSession session;
  session.Respond("pg_current_logfile", pg::Rows({"allowed", "path"}, {Row{"t", std::nullopt}}));
  EXPECT_THROW(follower_.Poll(
                   session, [](std::string_view) {}, [] {}),
               pg::Error);
}

TEST_F(ServerLogFollowerTest, WithoutTheGrantsNothingIsCalledThatWouldFail) {
  FakeSession session;
  session.Respond("pg_current_logfile", pg::Rows({"allowed", "path"}, {Row{"f", std::nullopt}}));
  try {
    follower_.Poll(
        session, [](std::string_view) {}, [] {});
    FAIL() << "read a log the role may not read";
  } catch (const pg::Error& error) {
    EXPECT_NE(std::string(error.what()).find("GRANT EXECUTE"), std::string::npos);
  }
  ASSERT_EQ(session.queries().size(), 1u);  // no pg_stat_file, no pg_read_binary_file
  EXPECT_NE(session.queries()[0].find("CASE WHEN has_function_privilege"), std::string::npos);
}

TEST(LogCollectorTest, TheAgentsOwnErrorsAreCountedApartByApplicationName) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("pgvigil-log-collector-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"error_severity":"ERROR","message":"before the start"})"
                      << "\n";
  config::Target target;
  target.settings = config::DefaultSettings();
  target.settings.log_source.path = path.string();
  target.settings.log_source.format = "jsonlog";
  LogCollector collector(target);
  pg::ConnectOptions options;
  Observations observations;
  pg::OwnLoad own_load;
  auto poll = [&] {
    CollectContext context{
        nullptr,      target,  options, SteadyClock::now(), std::chrono::minutes(5),
        observations, own_load};
    metrics::FamilySet out;
    collector.Collect(context, out);
    return out.Take();
  };
  poll();  // starts at the end: the line before it is history
  std::ofstream(path, std::ios::app)
      << R"({"timestamp":"2026-11-22 10:00:00.000 UTC","error_severity":"ERROR","state_code":"23505","message":"dup","application_name":"booking"})"
      << "\n"
      << R"({"timestamp":"2026-11-22 10:00:01.000 UTC","error_severity":"FATAL","state_code":"53300","message":"too many"})"
      << "\n"
      << R"({"timestamp":"2026-11-22 10:00:02.000 UTC","error_severity":"ERROR","state_code":"57014","message":"timeout","application_name":"pgvigil"})"
      << "\n"
      << R"({"timestamp":"2026-11-22 10:00:03.000 UTC","error_severity":"WARNING","message":"w","application_name":"booking"})"
      << "\n";
  const auto families = poll();
  EXPECT_EQ(testing::SampleValue(families, "pgvigil_log_errors_total", {{"source", "application"}}),
            2);
  EXPECT_EQ(testing::SampleValue(families, "pgvigil_log_errors_total", {{"source", "agent"}}), 1);
  EXPECT_EQ(testing::SampleValue(families, "pg_log_messages_total",
                                 {{"severity", "ERROR"}, {"sqlstate_class", "57"}}),
            1);  // the server's truth, the agent's own included
  // Only the application's errors enter the error ratio, by their own times.
  ASSERT_EQ(observations.log.error_times.size(), 2u);
  EXPECT_EQ(observations.log.error_times[1] - observations.log.error_times[0], 1000);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pgvigil::collectors
