#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil::logs {

// A message a receiver (syslog listener, HTTP drain) took for a target, waiting for the target's
// log collector.
struct InboxMessage {
  std::string sender;  // HOSTNAME/APP-NAME/PROCID: the stream whose [n-m] chunks belong together
  std::string text;    // the syslog MSG: PostgreSQL's line, with its [n-m] marker if any
  std::optional<std::int64_t> epoch_ms;  // the syslog header's time, when it has one
};

// Where receivers leave one target's messages and its log collector takes them: a bounded
// queue (messages beyond kMaxBytes are dropped and counted, never buffered without end).
// Shared by receiver threads (Push) and the target's worker thread (Take).
class LogInbox {
 public:
  static constexpr std::size_t kMaxBytes = 32 << 20;

  // False when the inbox is full: the message is dropped and counted.
  bool Push(InboxMessage message);
  [[nodiscard]] std::vector<InboxMessage> Take();
  // Messages a receiver had to drop before they reached the inbox (oversized, unframeable).
  void CountDropped(std::uint64_t count) { dropped_ += count; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }
  // Messages a receiver could not parse (a drain's malformed frames): the target's own.
  void CountRejected(std::uint64_t count) { rejected_ += count; }
  [[nodiscard]] std::uint64_t rejected() const { return rejected_; }

 private:
  std::mutex mutex_;
  std::deque<InboxMessage> messages_;
  std::size_t bytes_ = 0;
  std::atomic<std::uint64_t> dropped_ = 0;
  std::atomic<std::uint64_t> rejected_ = 0;
};

// The inbox of each target that receives its log over syslog or a drain, by target name. One
// per process; an inbox lives as long as anything holds it, so a reload that keeps a target
// keeps its inbox and what is queued in it. Shared by every thread.
class Inboxes {
 public:
  [[nodiscard]] static std::shared_ptr<LogInbox> For(const std::string& target);
  // The inbox of a target, if one was made (receivers must not create inboxes for names that
  // arrive from the network).
  [[nodiscard]] static std::shared_ptr<LogInbox> Find(const std::string& target);
};

}  // namespace pgvigil::logs
