#pragma once

#include <map>
#include <mutex>
#include <semaphore>
#include <string>

namespace pgvigil::http {

// Whether an Authorization header carries `token`: as a bearer token, or as the password of
// basic auth (any user name; a Heroku drain URL https://user:TOKEN@host/… arrives so). Compared
// in constant time; an empty token matches nothing.
[[nodiscard]] bool TokenMatches(const std::string& authorization, const std::string& token);

// Checks "Authorization: Basic ..." against bcrypt hashes (libxcrypt crypt_r). A verified
// password is remembered per user, so a scrape every few seconds does not pay bcrypt each time.
// An unknown user costs the same bcrypt as a wrong password (against a dummy hash of the same
// cost), so answers do not tell which users exist. At most kConcurrentChecks bcrypt runs at
// once: failed attempts beyond that are answered kBusy at once, and cannot take the CPU that
// scrapes need. Thread-safe.
class BasicAuth {
 public:
  enum class Result { kAllowed, kDenied, kBusy };
  static constexpr std::ptrdiff_t kConcurrentChecks = 2;

  explicit BasicAuth(std::map<std::string, std::string> users);

  [[nodiscard]] bool Enabled() const { return !users_.empty(); }
  [[nodiscard]] Result Check(const std::string& authorization_header);

 private:
  const std::map<std::string, std::string> users_;
  std::string dummy_hash_;  // same cost as the users' hashes
  std::counting_semaphore<kConcurrentChecks> checks_{kConcurrentChecks};
  std::mutex mutex_;
  std::map<std::string, std::string> verified_;  // user -> last password that matched its hash
};

}  // namespace pgvigil::http
