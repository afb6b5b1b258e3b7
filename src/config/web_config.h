#pragma once

#include <map>
#include <string>

namespace pgvigil::config {

// web.config_file, in the format of Prometheus' web-config.yml: TLS for /metrics and /health,
// and basic auth users with bcrypt hashes. Only the keys listed in docs/configuration.md are
// accepted; any other key is an error rather than a silently ignored security setting.
struct WebConfigFile {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: clients must present a certificate signed by it
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash

  [[nodiscard]] bool tls() const { return !cert_file.empty(); }
};

// Throws ConfigError naming the file, line and key.
[[nodiscard]] WebConfigFile LoadWebConfig(const std::string& path);

}  // namespace pgvigil::config
