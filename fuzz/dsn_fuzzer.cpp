// DSN redaction: never throws, and a redacted DSN holds no password it was given.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pg/dsn.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dsn(reinterpret_cast<const char*>(data), size);
  (void)pgvigil::pg::RedactDsn(dsn);
  (void)pgvigil::pg::DsnError(dsn);
  // A distinctive password, as the first key/value option (so that it is a password whatever
  // follows), and as sslpassword: neither redaction nor a parse error may show it.
  const std::string secret = "Zq9SecretZq9";
  // Inputs that spell (or, through escapes, build) the secret themselves prove nothing.
  if (dsn.find("Zq9") != std::string::npos || dsn.find('\\') != std::string::npos) return 0;
  for (const char* option : {"password=", "sslpassword="}) {
    const std::string with_secret = option + secret + " " + dsn;
    if (pgvigil::pg::RedactDsn(with_secret).find(secret) != std::string::npos) std::abort();
    if (pgvigil::pg::DsnError(with_secret).find(secret) != std::string::npos) std::abort();
  }
  return 0;
}
