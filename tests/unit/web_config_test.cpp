#include "config/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "http/tls.h"

namespace pgvigil::config {
namespace {

using ::testing::HasSubstr;

// A directory with a self-signed certificate and key, a second key that does not match, and
// a web config file the test writes.
class WebConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::filesystem::temp_directory_path() /
                           ("pgvigil-web-" + std::to_string(::getpid())));
    std::filesystem::create_directories(*dir_);
    const std::string make =
        "cd " + *dir_ +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1"
        " && openssl genrsa -out other.pem 2048 >/dev/null 2>&1"
        " && echo 'not a certificate' > junk.pem";
    ASSERT_EQ(std::system(make.c_str()), 0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::string Write(const std::string& text) {
    const std::string path = *dir_ + "/web.yml";
    std::ofstream(path) << text;
    return path;
  }

  static std::string Error(const std::string& text) {
    try {
      http::CheckWebConfig(LoadWebConfig(Write(text)));
    } catch (const ConfigError& error) {
      return error.what();
    }
    return "";
  }

  static inline std::string* dir_ = nullptr;
  static constexpr const char* kTls =
      "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";
};

TEST_F(WebConfigTest, ExporterToolkitKeysAreRead) {
  const WebConfigFile web = LoadWebConfig(
      Write(std::string(kTls) +
            "  client_ca_file: cert.pem\n  client_auth_type: RequireAndVerifyClientCert\n"
            "  client_allowed_sans: [localhost]\n  min_version: TLS13\n  max_version: TLS13\n"
            "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
            "  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n"
            "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n"));
  EXPECT_TRUE(web.tls());
  EXPECT_EQ(web.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(web.min_version, "TLS13");
  EXPECT_EQ(web.headers.at("X-Frame-Options"), "deny");
  EXPECT_FALSE(web.prefer_server_cipher_suites);
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_NO_THROW(http::CheckWebConfig(web));
}

TEST_F(WebConfigTest, WhatWouldFailOpenIsRefusedWithFileLineAndKey) {
  // A policy that verifies, without a CA to verify against.
  EXPECT_THAT(Error(std::string(kTls) + "  client_auth_type: RequireAndVerifyClientCert\n"),
              HasSubstr("web.yml:2: tls_server_config.client_auth_type: "
                        "RequireAndVerifyClientCert needs client_ca_file"));
  // A CA that nothing checks.
  EXPECT_THAT(Error(std::string(kTls) + "  client_ca_file: cert.pem\n"),
              HasSubstr("client CA without client_auth_type"));
  // TLS asked for, and nothing to serve it with.
  EXPECT_THAT(Error("tls_server_config: {}\n"), HasSubstr("cert_file and key_file are both"));
  EXPECT_THAT(Error("tls_server_config: yes\n"), HasSubstr("tls_server_config: expected a map"));
  EXPECT_THAT(Error(std::string(kTls) + "  client_allowed_sans: [a]\n"),
              HasSubstr("client_allowed_sans: needs client_auth_type"));
  EXPECT_THAT(Error(std::string(kTls) + "  min_version: TLS13\n  max_version: TLS12\n"),
              HasSubstr("min_version: is above max_version"));
  EXPECT_THAT(Error(std::string(kTls) + "  cipher_suites: [TLS_FANCY]\n"),
              HasSubstr("unknown cipher suite 'TLS_FANCY'"));
  EXPECT_THAT(Error(std::string(kTls) + "  client_auth_type: Sometimes\n"),
              HasSubstr("expected NoClientCert"));
  EXPECT_THAT(Error(std::string(kTls) + "  cert: inline\n"), HasSubstr("unsupported key"));
  EXPECT_THAT(Error("http_server_config:\n  headers:\n    Content-Type: x\n"),
              HasSubstr("the server's own"));
}

TEST_F(WebConfigTest, TlsMaterialAndHashesAreLoadedByTheCheck) {
  EXPECT_THAT(Error("tls_server_config:\n  cert_file: junk.pem\n  key_file: key.pem\n"),
              HasSubstr("tls_server_config.cert_file: cannot load a PEM certificate"));
  EXPECT_THAT(Error("tls_server_config:\n  cert_file: cert.pem\n  key_file: other.pem\n"),
              HasSubstr("key values mismatch"));
  EXPECT_THAT(Error("basic_auth_users:\n  prometheus: '$2y$10$tooshort'\n"),
              HasSubstr("basic_auth_users.prometheus: not a bcrypt hash"));
  EXPECT_THAT(Error("basic_auth_users:\n  prometheus: plain-text\n"),
              HasSubstr("expected a bcrypt hash"));
}

TEST_F(WebConfigTest, TypeConfusedYamlIsAConfigErrorNeverAnAbort) {
  EXPECT_THAT(Error("? [a, b]\n: c\n"), HasSubstr("expected a plain key"));
  EXPECT_THAT(Error("basic_auth_users:\n  prometheus: [a, b]\n"),
              HasSubstr("basic_auth_users.prometheus: expected a single value"));
  EXPECT_THAT(Error("basic_auth_users:\n  ? {a: b}\n  : c\n"), HasSubstr("expected a plain key"));
  EXPECT_THAT(Error("basic_auth_users: [x]\n"), HasSubstr("expected a map"));
  // Found by fuzz/web_config_fuzzer.cpp: a name too long for the file system threw.
  EXPECT_THAT(Error("tls_server_config:\n  cert_file: " + std::string(5000, 'x') + "\n"),
              HasSubstr("tls_server_config.cert_file: no such file"));
}

}  // namespace
}  // namespace pgvigil::config
