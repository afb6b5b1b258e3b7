#include "logs/drain.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "logs/syslog_message.h"

namespace pgvigil::logs {
namespace {

enum class Framing { kOctetCounted, kLines };

// The media type of a Content-Type header, without parameters, spaces or case.
std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  std::string type;
  for (const char c : content_type) {
    if (c != ' ' && c != '\t') {
      type.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return type;
}

std::optional<Framing> FramingOf(std::string_view content_type) {
  const std::string type = MediaType(content_type);
  if (type == "application/logplex-1") return Framing::kOctetCounted;
  if (type.empty() || type == "text/plain" || type == "application/syslog") return Framing::kLines;
  return std::nullopt;
}

// Parses one message and hands it on, counting the outcome.
void Take(std::string_view frame, const MessageSink& sink, DrainResult& result) {
  if (frame.size() > kMaxDrainMessage) {
    ++result.rejected;
    return;
  }
  const auto message = ParseSyslogMessage(frame);
  if (!message) {
    ++result.rejected;
    return;
  }
  if (sink(ToInboxMessage(*message))) {
    ++result.accepted;
  } else {
    ++result.dropped;
  }
}

// The next logplex frame at `at` ("LENGTH SP MESSAGE", frames optionally separated by
// newlines); advances past it. nullopt when the bytes at `at` are not a frame.
std::optional<std::string_view> NextFrame(std::string_view body, std::size_t& at) {
  std::size_t length = 0;
  std::size_t digits = 0;
  std::size_t i = at;
  for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i) {
    // More digits than any body can hold is not a length (and would overflow).
    if (++digits > 7) return std::nullopt;
    length = length * 10 + static_cast<std::size_t>(body[i] - '0');
  }
  if (digits == 0 || length == 0 || i >= body.size() || body[i] != ' ') return std::nullopt;
  ++i;
  if (length > body.size() - i) return std::nullopt;
  at = i + length;
  return body.substr(i, length);
}

void SkipSeparators(std::string_view body, std::size_t& at) {
  while (at < body.size() && (body[at] == '\n' || body[at] == '\r')) ++at;
}

}  // namespace

DrainResult ReceiveDrain(std::string_view content_type, std::string_view body,
                         const MessageSink& sink) {
  DrainResult result;
  const auto framing = FramingOf(content_type);
  if (!framing) {
    result.error = "content type \"" + std::string(content_type.substr(0, 100)) +
                   "\" is not application/logplex-1, text/plain or application/syslog";
    return result;
  }
  if (*framing == Framing::kLines) {
    std::size_t at = 0;
    while (at < body.size()) {
      std::size_t end = body.find('\n', at);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(at, end - at);
      at = end + 1;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (!line.empty()) Take(line, sink, result);
    }
    return result;
  }
  std::size_t at = 0;
  SkipSeparators(body, at);
  bool first = true;
  while (at < body.size()) {
    const std::size_t start = at;
    const auto frame = NextFrame(body, at);
    if (!frame) {
      if (first) {
        result.error = "the body is not logplex frames (\"LENGTH SP MESSAGE\") at byte " +
                       std::to_string(start);
        return result;
      }
      ++result.rejected;  // the rest of the body, which cannot be framed
      break;
    }
    first = false;
    Take(*frame, sink, result);
    SkipSeparators(body, at);
  }
  return result;
}

}  // namespace pgvigil::logs
