#include "config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

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
  if (!std::filesystem::is_regular_file(file)) Fail(path, node, key, "no such file '" + file + "'");
  return file;
}

}  // namespace

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
  if (root.IsNull()) return web;
  if (!root.IsMap()) Fail(path, root, "(top level)", "expected a map of keys");
  for (const auto& entry : root) {
    const auto key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (key == "tls_server_config") {
      for (const auto& tls : value) {
        const auto tls_key = tls.first.as<std::string>();
        const std::string full = key + "." + tls_key;
        if (tls_key == "cert_file") {
          web.cert_file = ReadableFile(path, tls.second, full);
        } else if (tls_key == "key_file") {
          web.key_file = ReadableFile(path, tls.second, full);
        } else if (tls_key == "client_ca_file") {
          web.client_ca_file = ReadableFile(path, tls.second, full);
        } else if (tls_key == "client_auth_type") {
          const auto type = tls.second.as<std::string>();
          if (type != "RequireAndVerifyClientCert" && type != "NoClientCert") {
            Fail(path, tls.second, full,
                 "expected NoClientCert or RequireAndVerifyClientCert (set with client_ca_file)");
          }
        } else {
          Fail(path, tls.first, full,
               "unsupported key (expected cert_file, key_file, client_ca_file, client_auth_type)");
        }
      }
      if (web.cert_file.empty() != web.key_file.empty()) {
        Fail(path, value, key, "cert_file and key_file must be set together");
      }
    } else if (key == "basic_auth_users") {
      if (!value.IsMap()) Fail(path, value, key, "expected a map of user: bcrypt hash");
      for (const auto& user : value) {
        const auto name = user.first.as<std::string>();
        const auto hash = user.second.as<std::string>();
        if (!hash.starts_with("$2a$") && !hash.starts_with("$2b$") && !hash.starts_with("$2y$")) {
          Fail(path, user.second, key + "." + name, "expected a bcrypt hash ($2y$...)");
        }
        web.basic_auth_users[name] = hash;
      }
    } else {
      Fail(path, entry.first, key,
           "unsupported key (expected tls_server_config or basic_auth_users)");
    }
  }
  return web;
}

}  // namespace pgvigil::config
