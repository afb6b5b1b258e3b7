#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

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

bool BasicAuth::Check(const std::string& authorization_header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (!authorization_header.starts_with(kPrefix)) return false;
  auto decoded = DecodeBase64(authorization_header.substr(kPrefix.size()));
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded->substr(0, colon);
  const std::string password = decoded->substr(colon + 1);
  auto hash = users_.find(user);
  if (hash == users_.end()) return false;
  {
    std::lock_guard lock(mutex_);
    auto known = verified_.find(user);
    if (known != verified_.end() && SameText(known->second, password)) return true;
  }
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_r(password.c_str(), hash->second.c_str(), data.get());
  if (result == nullptr || result[0] == '*' || !SameText(result, hash->second)) return false;
  std::lock_guard lock(mutex_);
  verified_[user] = password;
  return true;
}

}  // namespace pgvigil::http
