#include "logs/chunks.h"

#include "logs/log_time.h"

namespace pgvigil::logs {

std::optional<ChunkMarker> ParseChunkMarker(std::string_view text) {
  // rsyslog keeps the space after a BSD tag's colon in MSG.
  while (text.starts_with(' ')) text.remove_prefix(1);
  // Heroku puts the database's attachment name first: "[DATABASE] [12-1] …".
  if (text.starts_with('[') && text.size() > 1 && !(text[1] >= '0' && text[1] <= '9')) {
    const std::size_t close = text.find("] [");
    if (close != std::string_view::npos) text.remove_prefix(close + 2);
  }
  if (!text.starts_with('[')) return std::nullopt;
  const std::size_t dash = text.find('-');
  const std::size_t close = text.find(']');
  if (dash == std::string_view::npos || close == std::string_view::npos || dash > close) {
    return std::nullopt;
  }
  const auto sequence = DecimalOf(text.substr(1, dash - 1));
  const auto chunk = DecimalOf(text.substr(dash + 1, close - dash - 1));
  if (!sequence || !chunk) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  if (rest.starts_with(' ')) rest.remove_prefix(1);
  return ChunkMarker{static_cast<std::uint64_t>(*sequence), static_cast<std::uint64_t>(*chunk),
                     rest};
}

void ChunkJoiner::Feed(const std::string& sender, std::string_view text,
                       std::optional<std::int64_t> epoch_ms, const Sink& sink) {
  const auto marker = ParseChunkMarker(text);
  if (!marker) {
    sink(text, epoch_ms);
    return;
  }
  auto it = pending_.find(sender);
  if (it != pending_.end() && (it->second.sequence != marker->sequence || marker->chunk == 1)) {
    sink(it->second.text, it->second.epoch_ms);
    pending_.erase(it);
    it = pending_.end();
  }
  if (it == pending_.end()) {
    it = pending_.emplace(sender, Pending{marker->sequence, std::string(marker->rest), epoch_ms})
             .first;
    return;
  }
  std::string& joined = it->second.text;
  if (joined.size() >= max_message_) return;
  if (starts_line_(marker->rest)) joined += '\n';
  joined.append(marker->rest.substr(0, max_message_ - joined.size()));
}

void ChunkJoiner::Flush(const Sink& sink) {
  for (const auto& [sender, pending] : pending_) sink(pending.text, pending.epoch_ms);
  pending_.clear();
}

}  // namespace pgvigil::logs
