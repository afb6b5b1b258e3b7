#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "logs/inbox.h"

namespace pgvigil::logs {

// The largest drain request body taken (POST /logs/<target>); larger ones are refused from
// their headers, unread.
inline constexpr std::size_t kMaxDrainBody = 1 << 20;
// The longest message taken from a drain, as from a syslog listener; longer ones are rejected
// (the frames after them are still read).
inline constexpr std::size_t kMaxDrainMessage = 64 * 1024;

// Where a drain's messages go (a target's LogInbox); false when it is full and drops them.
using MessageSink = std::function<bool(const InboxMessage&)>;

struct DrainResult {
  std::size_t accepted = 0;  // parsed and left in the inbox
  std::size_t rejected = 0;  // frames that were not syslog, or too long, or could not be framed
  std::size_t dropped = 0;   // parsed, but the inbox was full (it counts them too)
  std::string error;         // the body was not taken at all; starts with "content type" when
                             // the content type is not one a drain sends
};

// Takes one HTTPS drain request's body (docs/logs.md) for a target's log collector:
//  - application/logplex-1 (Heroku's logplex): octet-counted frames, "LENGTH SP MESSAGE", each
//    an RFC 5424 message (a trailing newline counted in LENGTH is allowed);
//  - text/plain, application/syslog, or no content type: syslog messages (RFC 5424 or 3164)
//    one a line.
// Each message is parsed with ParseSyslogMessage and handed to `sink`, its sender being
// HOSTNAME/APP-NAME/PROCID as from a syslog listener. A message that does not parse is counted
// rejected and the others are kept. A logplex frame whose length is not a number or runs past
// the body ends the framing: what follows is one rejected frame, what came before is kept.
// `error` is set, and nothing pushed, only when the content type is not one of these or the
// first logplex frame cannot be framed. Parameters of the content type (";charset=…") are
// ignored. Thread-safe where the sink is.
[[nodiscard]] DrainResult ReceiveDrain(std::string_view content_type, std::string_view body,
                                       const MessageSink& sink);

}  // namespace pgvigil::logs
