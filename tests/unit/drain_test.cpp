#include "logs/drain.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "logs/inbox.h"

namespace pgvigil::logs {
namespace {

// 2026-12-07T02:00:00Z, the time every message below carries.
constexpr std::int64_t kMessageMillis = 1796608800000;

// A Heroku Postgres log line as logplex sends it (RFC 5424, no structured data).
std::string HerokuMessage(int pid, const std::string& text, bool newline = false) {
  return "<190>1 2026-12-07T02:00:00+00:00 host app postgres." + std::to_string(pid) +
         " - [DATABASE] " + text + (newline ? "\n" : "");
}

const std::string kDuplicate =
    "[9-1]  sql_error_code = 23505 ERROR:  duplicate key value violates unique constraint "
    "\"t_pkey\"";

// One logplex frame: "LENGTH SP MESSAGE", LENGTH counting the message's bytes.
std::string Frame(const std::string& message) {
  return std::to_string(message.size()) + " " + message;
}

// What a drain handed on, in order; full after `capacity` messages.
struct Collected {
  std::vector<InboxMessage> messages;
  std::size_t capacity = 1000000;
  std::size_t refused = 0;

  std::vector<InboxMessage> Take() { return std::exchange(messages, {}); }
  operator MessageSink() {  // NOLINT(google-explicit-constructor): passed as the sink
    return [this](const InboxMessage& message) {
      if (messages.size() >= capacity) {
        ++refused;
        return false;
      }
      messages.push_back(message);
      return true;
    };
  }
};

std::vector<std::string> Texts(Collected& inbox) {
  std::vector<std::string> texts;
  for (auto& message : inbox.Take()) texts.push_back(message.text);
  return texts;
}

TEST(DrainTest, OneLogplexFrame) {
  Collected inbox;
  const auto result =
      ReceiveDrain("application/logplex-1", Frame(HerokuMessage(1234, kDuplicate)), inbox);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.accepted, 1u);
  EXPECT_EQ(result.rejected, 0u);
  const auto messages = inbox.Take();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].sender, "host/app/postgres.1234");
  // "[DATABASE]" reads as RFC 5424 structured data: the text starts at PostgreSQL's marker.
  EXPECT_EQ(messages[0].text, kDuplicate);
  EXPECT_EQ(messages[0].epoch_ms, kMessageMillis);
}

TEST(DrainTest, SeveralFramesInOrder) {
  Collected inbox;
  // Heroku counts each message's trailing newline in its length; frames may also be separated
  // by newlines that no length counts.
  const std::string body = Frame(HerokuMessage(1, "[1-1]  sql_error_code = 00000 LOG:  a", true)) +
                           Frame(HerokuMessage(2, "[1-1]  sql_error_code = 00000 LOG:  b")) + "\n" +
                           Frame(HerokuMessage(3, kDuplicate, true)) + "\r\n";
  const auto result = ReceiveDrain("application/logplex-1", body, inbox);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.accepted, 3u);
  EXPECT_EQ(result.rejected, 0u);
  const auto messages = inbox.Take();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].sender, "host/app/postgres.1");
  EXPECT_EQ(messages[0].text, "[1-1]  sql_error_code = 00000 LOG:  a");
  EXPECT_EQ(messages[1].sender, "host/app/postgres.2");
  EXPECT_EQ(messages[1].text, "[1-1]  sql_error_code = 00000 LOG:  b");
  EXPECT_EQ(messages[2].sender, "host/app/postgres.3");
  EXPECT_EQ(messages[2].text, kDuplicate);
}

TEST(DrainTest, MalformedFrameBetweenGoodOnesIsRejectedAlone) {
  Collected inbox;
  const std::string body = Frame(HerokuMessage(1, "[1-1] first")) + Frame("not syslog at all") +
                           Frame("<999>1 bad priority") + Frame(HerokuMessage(2, "[1-1] second"));
  const auto result = ReceiveDrain("application/logplex-1", body, inbox);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.accepted, 2u);
  EXPECT_EQ(result.rejected, 2u);
  EXPECT_EQ(Texts(inbox), (std::vector<std::string>{"[1-1] first", "[1-1] second"}));
}

TEST(DrainTest, HugeLengthFirstIsUnframeable) {
  Collected inbox;
  const std::string body = "1000000000000 " + HerokuMessage(1, "[1-1] x");
  const auto result = ReceiveDrain("application/logplex-1", body, inbox);
  EXPECT_NE(result.error, "");
  EXPECT_FALSE(result.error.starts_with("content type"));
  EXPECT_EQ(result.accepted, 0u);
  EXPECT_TRUE(inbox.Take().empty());
}

TEST(DrainTest, HugeLengthAfterGoodFramesKeepsThem) {
  Collected inbox;
  const std::string body = Frame(HerokuMessage(1, "[1-1] kept")) + "1000000000000 " +
                           HerokuMessage(2, "[1-1] lost") + Frame(HerokuMessage(3, "[1-1] lost"));
  const auto result = ReceiveDrain("application/logplex-1", body, inbox);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.accepted, 1u);
  EXPECT_EQ(result.rejected, 1u);  // the rest of the body, which cannot be framed
  EXPECT_EQ(Texts(inbox), (std::vector<std::string>{"[1-1] kept"}));
}

TEST(DrainTest, LengthsThatAreNotFrames) {
  for (const std::string bad : {"x", "12", "12x", " ", "0 ", "-5 abcde", "99 short"}) {
    Collected inbox;
    const auto alone = ReceiveDrain("application/logplex-1", bad, inbox);
    EXPECT_NE(alone.error, "") << bad;
    const auto after =
        ReceiveDrain("application/logplex-1", Frame(HerokuMessage(1, "[1-1] a")) + bad, inbox);
    EXPECT_EQ(after.error, "") << bad;
    EXPECT_EQ(after.accepted, 1u) << bad;
    EXPECT_EQ(after.rejected, 1u) << bad;
    EXPECT_EQ(inbox.Take().size(), 1u) << bad;
  }
}

TEST(DrainTest, TooLongMessageIsRejectedAndTheNextKept) {
  Collected inbox;
  const std::string body = Frame(HerokuMessage(1, std::string(kMaxDrainMessage, 'x'))) +
                           Frame(HerokuMessage(2, "[1-1] after"));
  const auto result = ReceiveDrain("application/logplex-1", body, inbox);
  EXPECT_EQ(result.accepted, 1u);
  EXPECT_EQ(result.rejected, 1u);
  EXPECT_EQ(Texts(inbox), (std::vector<std::string>{"[1-1] after"}));
}

TEST(DrainTest, NewlineSeparatedMessages) {
  for (const std::string type :
       {"text/plain", "application/syslog", "", "text/plain; charset=utf-8"}) {
    Collected inbox;
    const std::string body = HerokuMessage(1, "[1-1] a") + "\r\n\n" + "garbage line\n" +
                             "<13>Dec  7 02:00:00 db postgres[77]: [2-1] b\n" +
                             HerokuMessage(3, "[1-1] c");  // no final newline
    const auto result = ReceiveDrain(type, body, inbox);
    EXPECT_EQ(result.error, "") << type;
    EXPECT_EQ(result.accepted, 3u) << type;
    EXPECT_EQ(result.rejected, 1u) << type;
    const auto messages = inbox.Take();
    ASSERT_EQ(messages.size(), 3u) << type;
    EXPECT_EQ(messages[0].text, "[1-1] a");
    EXPECT_EQ(messages[1].sender, "db/postgres/77");
    EXPECT_EQ(messages[1].text, "[2-1] b");
    EXPECT_EQ(messages[2].text, "[1-1] c");
  }
}

TEST(DrainTest, ContentTypeCaseAndParameters) {
  Collected inbox;
  const auto result = ReceiveDrain("Application/Logplex-1 ; charset=utf-8",
                                   Frame(HerokuMessage(1, "[1-1] a")), inbox);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.accepted, 1u);
}

TEST(DrainTest, WrongContentTypeTakesNothing) {
  for (const std::string type : {"application/json", "application/logplex-2", "text/html"}) {
    Collected inbox;
    const auto result = ReceiveDrain(type, Frame(HerokuMessage(1, "[1-1] a")), inbox);
    EXPECT_TRUE(result.error.starts_with("content type")) << result.error;
    EXPECT_EQ(result.accepted + result.rejected, 0u);
    EXPECT_TRUE(inbox.Take().empty());
  }
}

TEST(DrainTest, EmptyBodyTakesNothingAndIsNoError) {
  Collected inbox;
  for (const std::string type : {"application/logplex-1", "text/plain"}) {
    const auto result = ReceiveDrain(type, "", inbox);
    EXPECT_EQ(result.error, "");
    EXPECT_EQ(result.accepted + result.rejected, 0u);
  }
}

TEST(DrainTest, FullInboxDropsAndCounts) {
  Collected inbox;
  inbox.capacity = 0;
  const auto result = ReceiveDrain(
      "application/logplex-1", Frame(HerokuMessage(1, "[1-1] " + std::string(100, 'y'))), inbox);
  EXPECT_EQ(result.accepted, 0u);
  EXPECT_EQ(result.dropped, 1u);
  EXPECT_EQ(inbox.refused, 1u);
}

}  // namespace
}  // namespace pgvigil::logs
