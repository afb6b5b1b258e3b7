#pragma once

#include <map>
#include <mutex>
#include <string>

namespace pgvigil::http {

// Checks "Authorization: Basic ..." against bcrypt hashes (libxcrypt crypt_r). A verified
// password is remembered per user, so a scrape every few seconds does not pay bcrypt each time.
// Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  [[nodiscard]] bool Enabled() const { return !users_.empty(); }
  [[nodiscard]] bool Check(const std::string& authorization_header);

 private:
  const std::map<std::string, std::string> users_;
  std::mutex mutex_;
  std::map<std::string, std::string> verified_;  // user -> last password that matched its hash
};

}  // namespace pgvigil::http
