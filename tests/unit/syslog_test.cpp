#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collectors/log.h"
#include "logs/chunks.h"
#include "logs/inbox.h"
#include "logs/line_prefix.h"
#include "logs/syslog_framing.h"
#include "logs/syslog_message.h"
#include "metrics_lookup.h"

namespace pgvigil::logs {
namespace {

std::vector<std::string> Frames(const std::vector<std::string>& chunks, bool* ok = nullptr) {
  SyslogFramer framer(1024);
  std::vector<std::string> frames;
  bool fine = true;
  for (const auto& chunk : chunks) {
    fine = framer.Feed(chunk, [&](std::string_view f) { frames.emplace_back(f); }) && fine;
  }
  if (ok) *ok = fine;
  return frames;
}

TEST(SyslogFramerTest, NewlineAndOctetCountedFramesMixAcrossChunks) {
  const auto frames = Frames({"<13>1 a\n<13", ">1 b\n12 <13>1 c\nd", "ef <14>x\n"});
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0], "<13>1 a");
  EXPECT_EQ(frames[1], "<13>1 b");
  EXPECT_EQ(frames[2], "<13>1 c\ndef ");
  EXPECT_EQ(frames[3], "<14>x");
}

TEST(SyslogFramerTest, AnAbsurdLengthCutsTheStreamAndAnOversizedLineIsDropped) {
  bool ok = true;
  EXPECT_TRUE(Frames({"1000000000000 <13>1 x"}, &ok).empty());
  EXPECT_FALSE(ok);
  const auto frames = Frames({"<13>" + std::string(5000, 'y') + "\n<13>1 next\n"}, &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "<13>1 next");
}

TEST(SyslogMessageTest, Rfc5424WithStructuredDataAndRfc3164) {
  auto m = ParseSyslogMessage(
      "<132>1 2026-12-07T02:31:20.471496+00:00 vm postgres 27444 - [a@1 k=\"v\\]\"]  [3-1] hi");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hostname, "vm");
  EXPECT_EQ(m->app_name, "postgres");
  EXPECT_EQ(m->procid, "27444");
  EXPECT_EQ(m->text, " [3-1] hi");
  EXPECT_EQ(*m->epoch_ms, 1796610680471);
  m = ParseSyslogMessage("<134>Dec  7 02:31:20 db1 postgres[77]: [5-1] LOG:  x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hostname, "db1");
  EXPECT_EQ(m->app_name, "postgres");
  EXPECT_EQ(m->procid, "77");
  EXPECT_EQ(m->text, "[5-1] LOG:  x");
  EXPECT_FALSE(ParseSyslogMessage("no priority"));
  EXPECT_FALSE(ParseSyslogMessage("<999>1 x"));
}

TEST(LinePrefixTest, PresetsAndVerboseSqlstate) {
  const LinePrefix rds("rds");
  auto line = rds.Parse(
      "2026-12-07 02:31:20 UTC:10.0.0.1(5432):app@db:[4242]:ERROR:  23505: duplicate key");
  EXPECT_EQ(line.kind, PrefixedLine::Kind::kMessage);
  EXPECT_EQ(line.record.severity, "ERROR");
  EXPECT_EQ(line.record.sqlstate, "23505");
  EXPECT_EQ(line.record.pid, 4242);
  EXPECT_EQ(line.record.message, "duplicate key");
  const LinePrefix heroku("heroku");
  line = heroku.Parse(" sql_error_code = 28000 FATAL:  no pg_hba.conf entry");
  EXPECT_EQ(line.record.sqlstate, "28000");
  EXPECT_EQ(line.record.severity, "FATAL");
  const LinePrefix aiven("aiven");
  line = aiven.Parse("2026-12-07 02:31:20.471 UTC [9] [user=u,db=d,app=my app, v2] ERROR:  boom");
  EXPECT_EQ(line.record.application_name, "my app, v2");
  EXPECT_EQ(line.record.time, "2026-12-07 02:31:20.471 UTC");
  // A process without a session stops at %q.
  line = aiven.Parse("2026-12-07 02:31:20.471 UTC [9] LOG:  checkpoint starting: time");
  EXPECT_EQ(line.kind, PrefixedLine::Kind::kMessage);
  EXPECT_EQ(aiven.Parse("2026-12-07 02:31:20.471 UTC [9] [user=u,db=d,app=a] STATEMENT:  x").kind,
            PrefixedLine::Kind::kContinuation);
  EXPECT_EQ(aiven.Parse("garbage").kind, PrefixedLine::Kind::kUnparsed);
  const LinePrefix azure("azure");
  line = azure.Parse("2026-12-07 02:31:20 UTC-6570a1b2.3039-ERROR:  boom");
  EXPECT_EQ(line.kind, PrefixedLine::Kind::kMessage);
  EXPECT_EQ(line.record.time, "2026-12-07 02:31:20 UTC");
  const LinePrefix offset("%m %p ");
  EXPECT_EQ(offset.Parse("2026-12-07 02:31:20.000 -03 12 ERROR:  x").record.pid, 12);
  EXPECT_THROW(LinePrefix("%Z"), std::invalid_argument);
}

TEST(ChunkJoinerTest, RejoinsChunksPerSender) {
  const LinePrefix prefix("debian");
  std::vector<std::string> messages;
  ChunkJoiner joiner(
      [&](std::string_view chunk) {
        return prefix.Parse(chunk).kind != PrefixedLine::Kind::kUnparsed;
      },
      4096);
  const auto sink = [&](std::string_view text, auto) { messages.emplace_back(text); };
  const std::string p = "2026-12-07 02:31:20.471 UTC [1] u@d ";
  joiner.Feed("a", "[3-1] " + p + "ERROR:  division", std::nullopt, sink);
  joiner.Feed("b", "[7-1] " + p + "ERROR:  other", std::nullopt, sink);
  joiner.Feed("a", "[3-2]  by zero", std::nullopt, sink);
  joiner.Feed("a", "[3-3] " + p + "STATEMENT:  SELECT 1/0", std::nullopt, sink);
  joiner.Feed("a", "[4-1] " + p + "ERROR:  again", std::nullopt, sink);
  joiner.Flush(sink);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0], p + "ERROR:  division by zero\n" + p + "STATEMENT:  SELECT 1/0");
}

TEST(SyslogPipelineTest, EveryErrorOfOneBackendIsCounted) {
  config::Target target;
  target.settings = config::DefaultSettings();
  target.name = "pipeline-test";
  target.settings.log_source.syslog.listen = "127.0.0.1:0";
  target.settings.log_source.line_prefix = "debian";
  target.settings.log_source.heartbeat = false;
  collectors::LogCollector collector(target);
  auto inbox = Inboxes::For(target.name);
  const std::string p = " [%d-%d] 2026-12-07 02:32:24.161 UTC [29063] it_user@pgvigil_it ";
  for (int seq = 3; seq < 9; ++seq) {
    char head[128];
    std::snprintf(head, sizeof head, p.c_str(), seq, 1);
    ASSERT_TRUE(inbox->Push(
        {"vm/postgres/29063", std::string(head) + "ERROR:  division by zero", 1796610744161}));
    std::snprintf(head, sizeof head, p.c_str(), seq, 2);
    ASSERT_TRUE(inbox->Push(
        {"vm/postgres/29063", std::string(head) + "STATEMENT:  SELECT 1/0;", 1796610744161}));
  }
  pg::ConnectOptions options;
  collectors::Observations observations;
  pg::OwnLoad own_load;
  collectors::CollectContext context{
      nullptr,      target,  options, collectors::SteadyClock::now(), std::chrono::minutes(5),
      observations, own_load};
  metrics::FamilySet out;
  collector.Collect(context, out);
  const auto families = out.Take();
  EXPECT_EQ(testing::SampleValue(families, "pg_log_messages_total",
                                 {{"severity", "ERROR"}, {"sqlstate_class", ""}}),
            6);
}

}  // namespace
}  // namespace pgvigil::logs

namespace pgvigil::logs {
namespace {

TEST(LogInboxTest, KeepsCountsOfRoutineLinesAndRecordsOfErrorsOnly) {
  LogInbox inbox;
  inbox.Configure(std::make_shared<const LinePrefix>("debian"), false);
  const std::string p = " 2026-12-07 02:32:24.161 UTC [7] u@d ";
  for (int i = 1; i <= 100000; ++i) {
    const std::string seq = "[" + std::to_string(i) + "-1]";
    const std::string line = i % 1000 == 0 ? "ERROR:  boom" : "LOG:  duration: 0.050 ms";
    ASSERT_TRUE(inbox.Push({"db/postgres/7", seq + p + line, std::nullopt}));
  }
  ASSERT_TRUE(inbox.Push({"db/postgres/7", "not a postgres line", std::nullopt}));
  const auto taken = inbox.Take();
  EXPECT_EQ(taken.parsed, 100000);
  EXPECT_EQ(taken.unparsed, 1);
  ASSERT_EQ(taken.records.size(), 100u);  // the errors, not the LOG lines
  EXPECT_EQ(taken.records[0].severity, "ERROR");
  EXPECT_EQ(inbox.Take().parsed, 0);  // taken once
}

TEST(LogInboxTest, ADrainKeepsOnlyPostgresProcesses) {
  LogInbox inbox;
  inbox.Configure(std::make_shared<const LinePrefix>("heroku"), true);
  ASSERT_TRUE(inbox.Push({"host/heroku/router", "at=info method=GET path=/", std::nullopt}));
  ASSERT_TRUE(inbox.Push(
      {"host/app/postgres.12", "[3-1]  sql_error_code = 23505 ERROR:  dup", std::nullopt}));
  const auto taken = inbox.Take();
  EXPECT_EQ(taken.ignored, 1);
  ASSERT_EQ(taken.records.size(), 1u);
  EXPECT_EQ(taken.records[0].sqlstate, "23505");
}

}  // namespace
}  // namespace pgvigil::logs
