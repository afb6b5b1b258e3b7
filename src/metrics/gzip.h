#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgvigil::metrics {

// A piece of text compressed on its own as raw deflate that ends on a byte boundary without
// closing the stream (a sync flush). Pieces compressed apart, on any thread, concatenate into
// one valid gzip member (the way pigz compresses in parallel): a scrape of a thousand targets
// then copies compressed bytes instead of compressing megabytes.
struct DeflatedPiece {
  std::string data;
  std::uint32_t crc = 0;   // CRC-32 of the uncompressed text
  std::size_t length = 0;  // uncompressed length
};

// Compresses `text` (zlib level 1: the exposition is repetitive, and speed matters more than
// the last percent). Thread-safe; reuses pooled zlib streams.
[[nodiscard]] DeflatedPiece Deflate(std::string_view text);

// Assembles pieces, in order, into a gzip member (RFC 1952). Copyable: a prepared prefix can be
// copied and finished with different tails.
class GzipBuilder {
 public:
  GzipBuilder();
  void Add(const DeflatedPiece& piece);
  void Reserve(std::size_t bytes) { out_.reserve(bytes); }
  [[nodiscard]] std::size_t size() const { return out_.size(); }
  // The finished member; the builder is spent.
  [[nodiscard]] std::string Finish();

 private:
  std::string out_;
  std::uint32_t crc_ = 0;
  std::uint64_t length_ = 0;
};

// The text of a gzip member (as GzipBuilder makes them); `length_hint`: the expected size, if
// known. Throws std::runtime_error on corrupt or truncated input.
[[nodiscard]] std::string Gunzip(std::string_view member, std::size_t length_hint = 0);

}  // namespace pgvigil::metrics
