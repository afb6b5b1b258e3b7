#pragma once

#include "config/web_config.h"

struct ssl_ctx_st;

namespace pgvigil::http {

// Sets an OpenSSL server context up as the web config says, with exporter-toolkit's meaning
// of every key: certificate and key (which must match), client certificate policy and CA,
// allowed client SANs, TLS versions, cipher suites, curves. Throws config::ConfigError naming
// the file and the key.
void ConfigureTls(ssl_ctx_st& context, const config::WebConfigFile& web);

// What --check-config and start-up check beyond the file's structure: the TLS material loads
// (certificate, key, client CA) and every bcrypt hash is one libxcrypt accepts. Throws
// config::ConfigError.
void CheckWebConfig(const config::WebConfigFile& web);

}  // namespace pgvigil::http
