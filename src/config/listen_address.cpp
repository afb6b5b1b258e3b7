#include "config/listen_address.h"

#include <algorithm>
#include <cctype>

namespace pgvigil::config {

ListenAddress ParseListenAddress(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw ConfigError("listen address '" + address + "': expected HOST:PORT, :PORT or [IPv6]:PORT");
  }
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != std::string::npos) {
    throw ConfigError("listen address '" + address +
                      "': an IPv6 host needs brackets, as [::1]:9432");
  }
  const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                      std::all_of(port_text.begin(), port_text.end(),
                                  [](unsigned char c) { return std::isdigit(c) != 0; });
  const int port = digits ? std::stoi(port_text) : -1;
  if (port < 0 || port > 65535) {
    throw ConfigError("listen address '" + address + "': expected a port from 0 to 65535");
  }
  return {host.empty() ? "0.0.0.0" : host, port};
}

}  // namespace pgvigil::config
