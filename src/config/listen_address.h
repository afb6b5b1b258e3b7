#pragma once

#include <string>

#include "config/config.h"

namespace pgvigil::config {

// A listen address: HOST:PORT, :PORT (every address) or [IPv6]:PORT. Throws ConfigError.
struct ListenAddress {
  std::string host;
  int port = 0;
};
[[nodiscard]] ListenAddress ParseListenAddress(const std::string& address);

}  // namespace pgvigil::config
