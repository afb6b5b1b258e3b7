#include "logs/syslog_framing.h"

namespace pgvigil::logs {
namespace {

// Seven digits are more than any frame the receiver accepts; more is not a length.
constexpr std::size_t kMaxLengthDigits = 7;

}  // namespace

bool SyslogFramer::Feed(std::string_view bytes, const Sink& sink) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const char c = bytes[i];
    switch (state_) {
      case State::kStart:
        if (c == '\n' || c == '\r' || c == '\0' || c == ' ') {
          ++i;
        } else if (c >= '1' && c <= '9') {
          state_ = State::kLength;
          length_ = 0;
          length_digits_ = 0;
        } else if (c == '<') {
          state_ = State::kLine;
          frame_.clear();
          oversized_ = false;
        } else {
          ++counts_.malformed;
          state_ = State::kSkipLine;
        }
        break;
      case State::kLength:
        if (c >= '0' && c <= '9') {
          if (++length_digits_ > kMaxLengthDigits) return false;
          length_ = length_ * 10 + static_cast<std::size_t>(c - '0');
          ++i;
        } else if (c == ' ') {
          if (length_ > max_frame_) return false;
          state_ = State::kCounted;
          frame_.clear();
          ++i;
        } else {
          return false;
        }
        break;
      case State::kCounted: {
        const std::size_t take = std::min(length_ - frame_.size(), bytes.size() - i);
        frame_.append(bytes.substr(i, take));
        i += take;
        if (frame_.size() == length_) {
          ++counts_.frames;
          sink(frame_);
          frame_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kLine: {
        const std::size_t newline = bytes.find('\n', i);
        const std::size_t end = newline == std::string_view::npos ? bytes.size() : newline;
        if (!oversized_) {
          const std::size_t take = std::min(end - i, max_frame_ - frame_.size());
          frame_.append(bytes.substr(i, take));
          if (take < end - i) oversized_ = true;
        }
        i = end;
        if (newline != std::string_view::npos) {
          ++i;
          if (oversized_) {
            ++counts_.oversized;
          } else {
            ++counts_.frames;
            sink(frame_);
          }
          frame_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kSkipLine: {
        const std::size_t newline = bytes.find('\n', i);
        if (newline == std::string_view::npos) return true;
        i = newline + 1;
        state_ = State::kStart;
        break;
      }
    }
  }
  return true;
}

void SyslogFramer::Finish(const Sink& sink) {
  if (state_ == State::kLine && !oversized_ && !frame_.empty()) {
    ++counts_.frames;
    sink(frame_);
  }
  frame_.clear();
  state_ = State::kStart;
}

}  // namespace pgvigil::logs
