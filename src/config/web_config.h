#pragma once

#include <map>
#include <string>
#include <vector>

namespace pgvigil::config {

// web.config_file, in the format of Prometheus' exporter-toolkit web-config.yml, so that one
// file serves Prometheus tooling and pgvigil alike: TLS for /metrics and /health, client
// certificates, basic auth users with bcrypt hashes, extra response headers. What
// exporter-toolkit rejects is rejected here too, and so is what would fail open (a client CA
// without a policy that checks it, a policy that verifies without a CA, an empty
// tls_server_config); any other key is an error rather than a silently ignored security
// setting.
struct WebConfigFile {
  std::string source;  // the file, for messages
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or
  // RequireAndVerifyClientCert, as Go's crypto/tls means them.
  std::string client_auth_type = "NoClientCert";
  std::vector<std::string> client_allowed_sans;  // one must be in the client certificate
  std::string min_version = "TLS12";             // TLS10 … TLS13
  std::string max_version = "TLS13";
  std::vector<std::string> cipher_suites;  // Go's names; TLS 1.2 and older
  std::vector<std::string> curve_preferences;
  bool prefer_server_cipher_suites = true;
  std::map<std::string, std::string> headers;           // added to every response
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash

  [[nodiscard]] bool tls() const { return !cert_file.empty(); }
};

// Reads and checks the file's structure and values. Throws ConfigError naming the file, the
// line and the key. The TLS material itself (parsing certificates and keys, bcrypt hashes) is
// checked by http::CheckWebConfig, where OpenSSL and libxcrypt live.
[[nodiscard]] WebConfigFile LoadWebConfig(const std::string& path);

// Go's TLS version names and cipher suite names, mapped to OpenSSL's.
[[nodiscard]] int TlsVersionRank(const std::string& name);  // TLS10 = 10 … TLS13 = 13; 0 if unknown
[[nodiscard]] std::string OpenSslCipherName(const std::string& go_name);  // "" if unknown

}  // namespace pgvigil::config
