#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "logs/chunks.h"
#include "logs/line_prefix.h"
#include "logs/record.h"
#include "logs/syslog_message.h"

namespace pgvigil::logs {

// A message a receiver (syslog listener, HTTP drain) took for a target.
struct InboxMessage {
  std::string sender;  // HOSTNAME/APP-NAME/PROCID: the stream whose [n-m] chunks belong together
  std::string text;    // the syslog MSG: PostgreSQL's line, with its [n-m] marker if any
  std::optional<std::int64_t> epoch_ms;  // the syslog header's time, when it has one
};

// A parsed syslog message as an inbox takes it: its sender is HOSTNAME/APP-NAME/PROCID.
[[nodiscard]] InboxMessage ToInboxMessage(const SyslogMessage& message);

// Where receivers leave one target's messages and its log collector takes what they held. The
// messages are rejoined ([n-m] chunks) and parsed (the target's line prefix) as they arrive, on
// the receiver's thread, and only what the collector needs is kept: counts of lines by outcome,
// and the records that matter (WARNING and worse, and the agent's heartbeat). So memory does
// not grow with the rate of lines (a busy server's LOG lines cost a count each), only with the
// errors between two polls, bounded by kMaxRecords (beyond, records are dropped and counted).
// Shared by receiver threads (Push, CountRejected) and the target's worker thread (Take).
class LogInbox {
 public:
  static constexpr std::size_t kMaxRecords = 100000;
  static constexpr std::size_t kMaxMessage = 64 * 1024;
  static constexpr std::size_t kKeptMessage = 1024;  // of a kept record's message text

  LogInbox();

  // How the target's lines are taken apart: its line prefix; `postgres_only` keeps only the
  // messages of processes named postgres (a drain carries the whole application's log).
  void Configure(std::shared_ptr<const LinePrefix> prefix, bool postgres_only);

  // False when the message was dropped (too many records waiting).
  bool Push(const InboxMessage& message);
  // Messages a receiver could not parse (a drain's malformed frames): the target's own.
  void CountRejected(std::uint64_t count);

  struct Taken {
    std::vector<LogRecord> records;
    double parsed = 0;    // lines whose prefix and severity matched (continuations included)
    double unparsed = 0;  // lines that did not, and rejected messages
    double dropped = 0;   // messages dropped before they were kept
    double ignored = 0;   // messages of other processes than PostgreSQL's
  };
  // What arrived since the last call; messages still being rejoined are handed out too.
  [[nodiscard]] Taken Take();

 private:
  // A rejoined message, line by line; with mutex_ held.
  void Message(std::string_view text, std::optional<std::int64_t> epoch_ms);
  void Line(std::string_view line, std::optional<std::int64_t> epoch_ms);

  std::mutex mutex_;
  std::shared_ptr<const LinePrefix> prefix_;
  bool postgres_only_ = false;
  ChunkJoiner joiner_;
  Taken taken_;
};

// The inbox of each target that receives its log over syslog or a drain, by target name. One
// per process; an inbox lives as long as anything holds it, so a reload that keeps a target
// keeps its inbox and what is queued in it. Shared by every thread.
class Inboxes {
 public:
  [[nodiscard]] static std::shared_ptr<LogInbox> For(const std::string& target);
};

// The agent's heartbeat line in the server log: "pgvigil heartbeat <epoch ms> <log time ms>".
inline constexpr std::string_view kHeartbeatTag = "pgvigil heartbeat ";

}  // namespace pgvigil::logs
