#include "metrics/gzip.h"

#include <zlib.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace pgvigil::metrics {
namespace {

// A raw-deflate stream, reset for each piece (initializing one costs far more). Each holds
// about 256 KiB: they are pooled, not one per thread (a thousand workers would hold 256 MB).
class Deflater {
 public:
  Deflater() {
    if (deflateInit2(&stream_, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("zlib: cannot initialize a deflate stream");
    }
  }
  ~Deflater() { deflateEnd(&stream_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

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
    out.shrink_to_fit();  // the bound is about the input's size: kept, it would double memory
    return out;
  }

 private:
  z_stream stream_{};
};

// Deflaters not in use; as many are made as threads compress at once (about the cores).
class DeflaterPool {
 public:
  std::unique_ptr<Deflater> Take() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto deflater = std::move(idle_.back());
        idle_.pop_back();
        return deflater;
      }
    }
    return std::make_unique<Deflater>();
  }
  void Give(std::unique_ptr<Deflater> deflater) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(deflater));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Deflater>> idle_;
};

DeflaterPool& Pool() {
  static DeflaterPool pool;
  return pool;
}

// gzip header: magic, deflate, no flags, no time, no extra flags, OS unknown.
constexpr char kHeader[] = {'\x1f', '\x8b', '\x08', 0, 0, 0, 0, 0, 0, '\xff'};
// An empty final block with fixed Huffman codes: closes the deflate stream.
constexpr char kFinalBlock[] = {'\x03', '\x00'};

void PutLittleEndian32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

DeflatedPiece Deflate(std::string_view text) {
  auto deflater = Pool().Take();
  DeflatedPiece piece;
  piece.data = deflater->Compress(text);
  Pool().Give(std::move(deflater));
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

std::string Gunzip(std::string_view member, std::size_t length_hint) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
  std::string text(length_hint > 0 ? length_hint : member.size() * 4, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(member.data()));
  stream.avail_in = static_cast<uInt>(member.size());
  std::size_t produced = 0;
  while (true) {
    if (produced == text.size()) text.resize(text.size() * 2);
    stream.next_out = reinterpret_cast<Bytef*>(text.data() + produced);
    stream.avail_out = static_cast<uInt>(text.size() - produced);
    const int status = inflate(&stream, Z_NO_FLUSH);
    produced = text.size() - stream.avail_out;
    if (status == Z_STREAM_END) break;
    if (status != Z_OK && status != Z_BUF_ERROR) throw std::runtime_error("inflate: corrupt data");
    if (status == Z_BUF_ERROR && stream.avail_in == 0)
      throw std::runtime_error("inflate: truncated");
  }
  text.resize(produced);
  return text;
}

}  // namespace pgvigil::metrics
