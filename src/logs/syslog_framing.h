#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace pgvigil::logs {

// Splits a syslog byte stream (TCP, TLS, an HTTP drain's body) into messages, RFC 6587: a frame
// that starts with a digit is octet-counted ("MSG-LEN SP MSG"), one that starts with '<' ends at
// a newline (non-transparent framing). The form is read frame by frame, so a sender may use
// either. Memory stays bounded by `max_frame` whatever arrives. Used by one thread.
class SyslogFramer {
 public:
  explicit SyslogFramer(std::size_t max_frame) : max_frame_(max_frame) {}

  struct Counts {
    std::size_t frames = 0;
    std::size_t oversized = 0;  // newline frames longer than max_frame, dropped whole
    std::size_t malformed = 0;  // bytes that were neither form, dropped up to the next newline
  };

  using Sink = std::function<void(std::string_view frame)>;
  // Hands out each complete frame. Returns false when the stream cannot be framed any further
  // (an octet count that is not a number or exceeds max_frame): the sender must be cut off.
  [[nodiscard]] bool Feed(std::string_view bytes, const Sink& sink);
  // A final newline frame without its newline (the sender closed the stream after it).
  void Finish(const Sink& sink);

  [[nodiscard]] const Counts& counts() const { return counts_; }

 private:
  enum class State { kStart, kLength, kCounted, kLine, kSkipLine };

  std::size_t max_frame_;
  State state_ = State::kStart;
  std::size_t length_ = 0;
  std::size_t length_digits_ = 0;
  bool oversized_ = false;
  std::string frame_;
  Counts counts_;
};

}  // namespace pgvigil::logs
