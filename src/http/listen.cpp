#include "http/listen.h"

#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <string>

namespace pgvigil::http {
namespace {

constexpr int kFallbackBacklog = 4096;
constexpr int kMaxBacklog = 65535;

}  // namespace

int ListenBacklog(const std::string& somaxconn_path) {
  // The first line (a read error, as of a directory, is a failed stream, not an exception).
  std::ifstream file(somaxconn_path);
  std::string line;
  if (!std::getline(file, line)) return kFallbackBacklog;
  const char* begin = line.data();
  const char* end = line.data() + line.size();
  while (end != begin && (end[-1] == ' ' || end[-1] == '\t')) --end;
  std::uint64_t value = 0;
  const auto [stop, error] = std::from_chars(begin, end, value);
  if (error == std::errc::result_out_of_range) return kMaxBacklog;
  // Nothing, or anything but one decimal number (a sign included): not a value to trust.
  if (error != std::errc() || stop != end) return kFallbackBacklog;
  return value > kMaxBacklog ? kMaxBacklog : static_cast<int>(value);
}

bool ApplyListenBacklog(int fd) { return ::listen(fd, ListenBacklog()) == 0; }

}  // namespace pgvigil::http
