// A syslog byte stream as a listener receives it: framing (octet-counted or newline), RFC 5424
// and RFC 3164 messages, PostgreSQL's [seq-chunk] markers rejoined, and the lines taken apart by
// every preset's log_line_prefix.
#include <cstdint>
#include <string>

#include "logs/chunks.h"
#include "logs/line_prefix.h"
#include "logs/syslog_framing.h"
#include "logs/syslog_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pgvigil::logs::LinePrefix prefix("");
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pgvigil::logs::ChunkJoiner joiner(
      [](std::string_view chunk) {
        return prefix.Parse(chunk).kind != pgvigil::logs::PrefixedLine::Kind::kUnparsed;
      },
      4096);
  const pgvigil::logs::ChunkJoiner::Sink parse = [](std::string_view text, auto) {
    std::size_t at = 0;
    while (at <= text.size()) {
      const std::size_t end = std::min(text.find('\n', at), text.size());
      (void)prefix.Parse(text.substr(at, end - at));
      at = end + 1;
    }
  };
  pgvigil::logs::SyslogFramer framer(1024);
  const auto on_frame = [&](std::string_view frame) {
    if (const auto message = pgvigil::logs::ParseSyslogMessage(frame)) {
      joiner.Feed(std::string(message->hostname), message->text, message->epoch_ms, parse);
    }
  };
  // Twice: whole, and in two pieces, so frames that straddle reads are exercised.
  (void)framer.Feed(bytes, on_frame);
  framer.Finish(on_frame);
  pgvigil::logs::SyslogFramer split(1024);
  (void)(split.Feed(bytes.substr(0, size / 2), on_frame) &&
         split.Feed(bytes.substr(size / 2), on_frame));
  joiner.Flush(parse);
  return 0;
}
