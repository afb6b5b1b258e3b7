#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace pgvigil::http {
namespace {

bool SameText(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> DecodeBase64(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  const int length =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(length);
  // EVP_DecodeBlock counts the bytes that '=' padding stands for; drop them.
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --size;
  return std::string(reinterpret_cast<const char*>(out.data()), size);
}

}  // namespace

bool TokenMatches(const std::string& authorization, const std::string& token) {
  if (token.empty()) return false;
  constexpr std::string_view kBearer = "Bearer ";
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.starts_with(kBearer)) {
    return SameText(authorization.substr(kBearer.size()), token);
  }
  if (!authorization.starts_with(kBasic)) return false;
  const auto decoded = DecodeBase64(authorization.substr(kBasic.size()));
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  return colon != std::string::npos && SameText(decoded->substr(colon + 1), token);
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  if (users_.empty()) return;
  // "$2b$12$..." -> cost 12: the dummy costs what a real check costs.
  const std::string& sample = users_.begin()->second;
  unsigned long cost = 10;
  if (sample.size() > 6 && sample[3] == '$') cost = std::strtoul(sample.c_str() + 4, nullptr, 10);
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) != nullptr) {
    auto data = std::make_unique<crypt_data>();
    const char* hash = crypt_r("pgvigil-dummy-password", salt, data.get());
    if (hash != nullptr && hash[0] != '*') dummy_hash_ = hash;
  }
  if (dummy_hash_.empty()) dummy_hash_ = sample;
}

BasicAuth::Result BasicAuth::Check(const std::string& authorization_header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (!authorization_header.starts_with(kPrefix)) return Result::kDenied;
  auto decoded = DecodeBase64(authorization_header.substr(kPrefix.size()));
  if (!decoded) return Result::kDenied;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return Result::kDenied;
  const std::string user = decoded->substr(0, colon);
  const std::string password = decoded->substr(colon + 1);
  auto hash = users_.find(user);
  if (hash != users_.end()) {
    std::lock_guard lock(mutex_);
    auto known = verified_.find(user);
    if (known != verified_.end() && SameText(known->second, password)) return Result::kAllowed;
  }
  if (!checks_.try_acquire()) return Result::kBusy;
  const std::string& against = hash != users_.end() ? hash->second : dummy_hash_;
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_r(password.c_str(), against.c_str(), data.get());
  const bool match = result != nullptr && result[0] != '*' && SameText(result, against);
  checks_.release();
  if (!match || hash == users_.end()) return Result::kDenied;
  std::lock_guard lock(mutex_);
  verified_[user] = password;
  return Result::kAllowed;
}

}  // namespace pgvigil::http
