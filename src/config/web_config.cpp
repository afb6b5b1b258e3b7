#include "config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "config/config.h"

namespace pgvigil::config {
namespace {

[[noreturn]] void Fail(const std::string& path, const YAML::Node& node, const std::string& key,
                       const std::string& what) {
  std::string where = path;
  if (node.IsDefined() && node.Mark().line >= 0)
    where += ":" + std::to_string(node.Mark().line + 1);
  throw ConfigError(where + ": " + key + ": " + what);
}

std::string ReadableFile(const std::string& path, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) Fail(path, node, key, "expected a file path");
  std::string file = node.Scalar();
  if (!std::filesystem::path(file).is_absolute()) {
    file = (std::filesystem::path(path).parent_path() / file).string();
  }
  // The error_code form: a name too long or unreadable is "no such file", never a throw.
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) {
    Fail(path, node, key, "no such file '" + file + "'");
  }
  return file;
}

void ReadHeader(const std::string& path, const std::string& name, const YAML::Node& value,
                const std::string& full, WebConfigFile& web) {
  // Headers the server sets itself, or that would change what a response means.
  static const std::vector<std::string> kReserved = {
      "authorization", "content-encoding", "content-length", "content-type",     "server",
      "vary",          "www-authenticate", "connection",     "transfer-encoding"};
  std::string lower;
  for (const char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::find(kReserved.begin(), kReserved.end(), lower) != kReserved.end()) {
    Fail(path, value, full, "this header is the server's own");
  }
  const std::string text = value.IsScalar() ? value.Scalar() : "";
  if (!value.IsScalar()) Fail(path, value, full, "expected a single value");
  const auto bad = [](std::string_view chars, std::string_view in) {
    return in.find_first_of(chars) != std::string_view::npos;
  };
  if (name.empty() || bad(std::string_view(":\r\n\0 ", 5), name) ||
      bad(std::string_view("\r\n\0", 3), text)) {
    Fail(path, value, full, "not a valid header name and value");
  }
  web.headers[name] = text;
}

const std::map<std::string, std::string>& CipherNames() {
  // crypto/tls's names of the suites Go offers for TLS 1.0-1.2, and OpenSSL's for them.
  static const std::map<std::string, std::string> names = {
      {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
      {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
  };
  return names;
}

std::string Scalar(const std::string& path, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) Fail(path, node, key, "expected a single value");
  return node.Scalar();
}

std::vector<std::string> List(const std::string& path, const YAML::Node& node,
                              const std::string& key) {
  if (!node.IsSequence()) Fail(path, node, key, "expected a list");
  std::vector<std::string> values;
  for (std::size_t i = 0; i < node.size(); ++i) {
    values.push_back(Scalar(path, node[i], key + "[" + std::to_string(i) + "]"));
  }
  return values;
}

bool Boolean(const std::string& path, const YAML::Node& node, const std::string& key) {
  const std::string text = Scalar(path, node, key);
  if (text == "true") return true;
  if (text == "false") return false;
  Fail(path, node, key, "expected true or false");
}

// Calls handle(key, value, full key) for each entry of a map; keys must be plain scalars.
template <typename Handle>
void Entries(const std::string& path, const YAML::Node& map, const std::string& prefix,
             Handle&& handle) {
  if (!map.IsMap()) Fail(path, map, prefix.empty() ? "(top level)" : prefix, "expected a map");
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) Fail(path, entry.first, prefix, "expected a plain key");
    const std::string key = entry.first.Scalar();
    handle(key, entry.second, prefix.empty() ? key : prefix + "." + key, entry.first);
  }
}

void ReadTls(const std::string& path, const YAML::Node& node, WebConfigFile& web) {
  const std::string section = "tls_server_config";
  Entries(path, node, section,
          [&](const std::string& key, const YAML::Node& value, const std::string& full,
              const YAML::Node& key_node) {
            if (key == "cert_file") {
              web.cert_file = ReadableFile(path, value, full);
            } else if (key == "key_file") {
              web.key_file = ReadableFile(path, value, full);
            } else if (key == "client_ca_file") {
              web.client_ca_file = ReadableFile(path, value, full);
            } else if (key == "client_auth_type") {
              web.client_auth_type = Scalar(path, value, full);
              if (web.client_auth_type == "RequireClientCert") {
                web.client_auth_type = "RequireAnyClientCert";  // exporter-toolkit's old name
              }
              static const std::vector<std::string> kTypes = {
                  "NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                  "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
              if (std::find(kTypes.begin(), kTypes.end(), web.client_auth_type) == kTypes.end()) {
                Fail(path, value, full,
                     "expected NoClientCert, RequestClientCert, RequireAnyClientCert, "
                     "VerifyClientCertIfGiven or RequireAndVerifyClientCert");
              }
            } else if (key == "client_allowed_sans") {
              web.client_allowed_sans = List(path, value, full);
            } else if (key == "min_version" || key == "max_version") {
              const std::string version = Scalar(path, value, full);
              if (TlsVersionRank(version) == 0) {
                Fail(path, value, full, "expected TLS10, TLS11, TLS12 or TLS13");
              }
              (key == "min_version" ? web.min_version : web.max_version) = version;
            } else if (key == "cipher_suites") {
              web.cipher_suites = List(path, value, full);
              for (const auto& name : web.cipher_suites) {
                if (OpenSslCipherName(name).empty()) {
                  Fail(path, value, full, "unknown cipher suite '" + name + "' (Go's names)");
                }
              }
            } else if (key == "curve_preferences") {
              web.curve_preferences = List(path, value, full);
              for (const auto& curve : web.curve_preferences) {
                if (curve != "CurveP256" && curve != "CurveP384" && curve != "CurveP521" &&
                    curve != "X25519") {
                  Fail(path, value, full,
                       "unknown curve '" + curve + "' (CurveP256, CurveP384, CurveP521, X25519)");
                }
              }
            } else if (key == "prefer_server_cipher_suites") {
              web.prefer_server_cipher_suites = Boolean(path, value, full);
            } else {
              Fail(path, key_node, full,
                   "unsupported key (expected cert_file, key_file, client_ca_file, "
                   "client_auth_type, client_allowed_sans, min_version, max_version, "
                   "cipher_suites, curve_preferences, prefer_server_cipher_suites)");
            }
          });
  // What would fail open, or what exporter-toolkit refuses.
  if (web.cert_file.empty() || web.key_file.empty()) {
    Fail(path, node, section,
         "cert_file and key_file are both required (an empty or partial tls_server_config "
         "would serve plain HTTP)");
  }
  const std::string& type = web.client_auth_type;
  if (!web.client_ca_file.empty() && type == "NoClientCert") {
    Fail(path, node, section + ".client_ca_file",
         "a client CA without client_auth_type would check nothing: set client_auth_type "
         "(RequireAndVerifyClientCert)");
  }
  if ((type == "RequireAndVerifyClientCert" || type == "VerifyClientCertIfGiven") &&
      web.client_ca_file.empty()) {
    Fail(path, node, section + ".client_auth_type",
         type + " needs client_ca_file to verify client certificates against");
  }
  if (!web.client_allowed_sans.empty() && type != "RequireAnyClientCert" &&
      type != "RequireAndVerifyClientCert") {
    Fail(path, node, section + ".client_allowed_sans",
         "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert");
  }
  if (TlsVersionRank(web.min_version) > TlsVersionRank(web.max_version)) {
    Fail(path, node, section + ".min_version", "is above max_version");
  }
}

}  // namespace

int TlsVersionRank(const std::string& name) {
  if (name == "TLS10") return 10;
  if (name == "TLS11") return 11;
  if (name == "TLS12") return 12;
  if (name == "TLS13") return 13;
  return 0;
}

std::string OpenSslCipherName(const std::string& go_name) {
  const auto it = CipherNames().find(go_name);
  return it == CipherNames().end() ? "" : it->second;
}

WebConfigFile LoadWebConfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot open web config file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  WebConfigFile web;
  web.source = path;
  if (root.IsNull()) return web;
  try {
    Entries(path, root, "",
            [&](const std::string& key, const YAML::Node& value, const std::string& full,
                const YAML::Node& key_node) {
              if (key == "tls_server_config") {
                ReadTls(path, value, web);
              } else if (key == "http_server_config") {
                Entries(path, value, full,
                        [&](const std::string& http_key, const YAML::Node& http_value,
                            const std::string& http_full, const YAML::Node& http_key_node) {
                          if (http_key == "http2") {
                            (void)Boolean(path, http_value, http_full);  // HTTP/1.1 is served
                          } else if (http_key == "headers") {
                            Entries(path, http_value, http_full,
                                    [&](const std::string& name, const YAML::Node& header,
                                        const std::string& header_full, const YAML::Node&) {
                                      ReadHeader(path, name, header, header_full, web);
                                    });
                          } else {
                            Fail(path, http_key_node, http_full,
                                 "unsupported key (expected http2 or headers)");
                          }
                        });
              } else if (key == "basic_auth_users") {
                if (value.IsNull()) return;
                Entries(path, value, full,
                        [&](const std::string& user, const YAML::Node& hash_node,
                            const std::string& user_full, const YAML::Node&) {
                          const std::string hash = Scalar(path, hash_node, user_full);
                          if (!hash.starts_with("$2a$") && !hash.starts_with("$2b$") &&
                              !hash.starts_with("$2y$")) {
                            Fail(path, hash_node, user_full, "expected a bcrypt hash ($2y$...)");
                          }
                          web.basic_auth_users[user] = hash;
                        });
              } else {
                Fail(path, key_node, full,
                     "unsupported key (expected tls_server_config, http_server_config or "
                     "basic_auth_users)");
              }
            });
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return web;
}

}  // namespace pgvigil::config
