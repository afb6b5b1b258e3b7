#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pgvigil::logs {

// Rejoins what PostgreSQL's syslog output splits: each message gets a sequence number and each
// of its lines (and each piece of a line longer than about 900 bytes) a chunk number, "[12-1]",
// "[12-2]" … (syslog_sequence_numbers, syslog_split_messages). Chunks of one sender with the same
// sequence number become one multi-line text; a chunk that does not start a line of its own
// (`starts_line`) continues the line before it. Messages without a marker pass through. Used by
// one thread.
class ChunkJoiner {
 public:
  using StartsLine = std::function<bool(std::string_view chunk)>;
  using Sink = std::function<void(std::string_view text, std::optional<std::int64_t> epoch_ms)>;

  ChunkJoiner(StartsLine starts_line, std::size_t max_message)
      : starts_line_(std::move(starts_line)), max_message_(max_message) {}

  void Feed(const std::string& sender, std::string_view text, std::optional<std::int64_t> epoch_ms,
            const Sink& sink);
  // Hands out every message still being joined.
  void Flush(const Sink& sink);

 private:
  struct Pending {
    std::uint64_t sequence = 0;
    std::string text;
    std::optional<std::int64_t> epoch_ms;
  };

  StartsLine starts_line_;
  std::size_t max_message_;
  std::map<std::string, Pending, std::less<>> pending_;  // by sender
};

// "[12-3] rest" → (12, 3, "rest"); nullopt without such a marker.
struct ChunkMarker {
  std::uint64_t sequence = 0;
  std::uint64_t chunk = 0;
  std::string_view rest;
};
[[nodiscard]] std::optional<ChunkMarker> ParseChunkMarker(std::string_view text);

}  // namespace pgvigil::logs
