#include "metrics/gzip.h"

#include <zlib.h>

#include <memory>
#include <stdexcept>

namespace pgvigil::metrics {
namespace {

// One raw-deflate stream per thread, reset for each piece (initializing one costs far more).
class ThreadDeflater {
 public:
  ThreadDeflater() {
    if (deflateInit2(&stream_, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("zlib: cannot initialize a deflate stream");
    }
  }
  ~ThreadDeflater() { deflateEnd(&stream_); }
  ThreadDeflater(const ThreadDeflater&) = delete;
  ThreadDeflater& operator=(const ThreadDeflater&) = delete;

  std::string Compress(std::string_view text) {
    deflateReset(&stream_);
    std::string out;
    // deflateBound covers a finished stream; a sync flush adds at most a few bytes more.
    out.resize(deflateBound(&stream_, static_cast<uLong>(text.size())) + 16);
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream_.avail_in = static_cast<uInt>(text.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    const int result = deflate(&stream_, Z_SYNC_FLUSH);
    if (result != Z_OK || stream_.avail_in != 0) {
      throw std::runtime_error("zlib: deflate failed");
    }
    out.resize(out.size() - stream_.avail_out);
    return out;
  }

 private:
  z_stream stream_{};
};

// gzip header: magic, deflate, no flags, no time, no extra flags, OS unknown.
constexpr char kHeader[] = {'\x1f', '\x8b', '\x08', 0, 0, 0, 0, 0, 0, '\xff'};
// An empty final block with fixed Huffman codes: closes the deflate stream.
constexpr char kFinalBlock[] = {'\x03', '\x00'};

void PutLittleEndian32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

DeflatedPiece Deflate(std::string_view text) {
  thread_local ThreadDeflater deflater;
  DeflatedPiece piece;
  piece.data = deflater.Compress(text);
  piece.crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
  piece.length = text.size();
  return piece;
}

GzipBuilder::GzipBuilder() : out_(kHeader, sizeof(kHeader)) {}

void GzipBuilder::Add(const DeflatedPiece& piece) {
  if (piece.length == 0) return;
  out_ += piece.data;
  crc_ = static_cast<std::uint32_t>(
      crc32_combine(crc_, piece.crc, static_cast<z_off_t>(piece.length)));
  length_ += piece.length;
}

std::string GzipBuilder::Finish() {
  out_.append(kFinalBlock, sizeof(kFinalBlock));
  PutLittleEndian32(out_, crc_);
  PutLittleEndian32(out_, static_cast<std::uint32_t>(length_ & 0xffffffffU));
  return std::move(out_);
}

}  // namespace pgvigil::metrics
