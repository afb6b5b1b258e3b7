#include "http/tls.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "config/config.h"

namespace pgvigil::http {
namespace {

using config::ConfigError;

// The client certificate policy of one context, for the verify callback.
struct ClientPolicy {
  bool verify_chain = false;              // else any certificate is taken as it is
  std::vector<std::string> allowed_sans;  // empty: any
};

void FreePolicy(void* /*parent*/, void* pointer, CRYPTO_EX_DATA* /*data*/, int /*index*/,
                long /*argl*/, void* /*argp*/) {
  delete static_cast<ClientPolicy*>(pointer);
}

int PolicyIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreePolicy);
  return index;
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

std::vector<std::string> SubjectAltNames(X509* certificate) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* text = name->d.ia5;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                         static_cast<std::size_t>(ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.ip;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text) != nullptr) {
        names.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return names;
}

int VerifyClient(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* policy =
      static_cast<const ClientPolicy*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), PolicyIndex()));
  if (policy == nullptr) return preverify_ok;
  if (policy->verify_chain && preverify_ok == 0) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0 || policy->allowed_sans.empty()) return 1;
  for (const auto& name : SubjectAltNames(X509_STORE_CTX_get_current_cert(store))) {
    if (std::find(policy->allowed_sans.begin(), policy->allowed_sans.end(), name) !=
        policy->allowed_sans.end()) {
      return 1;
    }
  }
  return 0;
}

int ProtocolVersion(const std::string& name) {
  switch (config::TlsVersionRank(name)) {
    case 10:
      return TLS1_VERSION;
    case 11:
      return TLS1_1_VERSION;
    case 12:
      return TLS1_2_VERSION;
    default:
      return TLS1_3_VERSION;
  }
}

std::string OpenSslCurve(const std::string& go_name) {
  if (go_name == "CurveP256") return "P-256";
  if (go_name == "CurveP384") return "P-384";
  if (go_name == "CurveP521") return "P-521";
  return "X25519";
}

}  // namespace

void ConfigureTls(ssl_ctx_st& context, const config::WebConfigFile& web) {
  SSL_CTX* ctx = &context;
  const std::string where = web.source + ": tls_server_config.";
  auto fail = [&](const std::string& key, const std::string& what) {
    throw ConfigError(where + key + ": " + what + " (" + OpenSslError() + ")");
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, web.cert_file.c_str()) != 1) {
    fail("cert_file", "cannot load a PEM certificate from " + web.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, web.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("key_file", "cannot load a PEM private key from " + web.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    fail("key_file", "the key does not belong to the certificate in " + web.cert_file);
  }
  if (SSL_CTX_set_min_proto_version(ctx, ProtocolVersion(web.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, ProtocolVersion(web.max_version)) != 1) {
    fail("min_version",
         "this OpenSSL does not offer " + web.min_version + " to " + web.max_version);
  }
  if (!web.cipher_suites.empty()) {
    std::string list;
    for (const auto& suite : web.cipher_suites) {
      list += (list.empty() ? "" : ":") + config::OpenSslCipherName(suite);
    }
    if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
      fail("cipher_suites", "none of the cipher suites is available");
    }
  }
  if (!web.curve_preferences.empty()) {
    std::string list;
    for (const auto& curve : web.curve_preferences) {
      list += (list.empty() ? "" : ":") + OpenSslCurve(curve);
    }
    if (SSL_CTX_set1_groups_list(ctx, list.c_str()) != 1) {
      fail("curve_preferences", "a curve is not available");
    }
  }
  if (web.prefer_server_cipher_suites) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  if (!web.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, web.client_ca_file.c_str(), nullptr) != 1) {
      fail("client_ca_file", "cannot load PEM certificates from " + web.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(web.client_ca_file.c_str());
    if (names == nullptr) fail("client_ca_file", "no certificate in " + web.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
  }

  // Go's client auth types, in OpenSSL's terms.
  const std::string& type = web.client_auth_type;
  int mode = SSL_VERIFY_NONE;
  if (type != "NoClientCert") mode = SSL_VERIFY_PEER;
  if (type == "RequireAnyClientCert" || type == "RequireAndVerifyClientCert") {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  auto policy = std::make_unique<ClientPolicy>();
  policy->verify_chain = type == "VerifyClientCertIfGiven" || type == "RequireAndVerifyClientCert";
  policy->allowed_sans = web.client_allowed_sans;
  if (SSL_CTX_set_ex_data(ctx, PolicyIndex(), policy.get()) != 1) {
    fail("client_auth_type", "cannot attach the client policy");
  }
  (void)policy.release();  // owned by the context now (FreePolicy)
  SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? nullptr : VerifyClient);
}

void CheckWebConfig(const config::WebConfigFile& web) {
  if (web.tls()) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_server_method()),
                                                              SSL_CTX_free);
    if (!context) throw ConfigError(web.source + ": cannot create a TLS context");
    ConfigureTls(*context, web);
  }
  for (const auto& [user, hash] : web.basic_auth_users) {
    auto data = std::make_unique<crypt_data>();
    const char* result = crypt_r("", hash.c_str(), data.get());
    if (result == nullptr || result[0] == '*' || std::string(result).size() != hash.size()) {
      throw ConfigError(web.source + ": basic_auth_users." + user +
                        ": not a bcrypt hash libxcrypt accepts (generate one with htpasswd -nBC "
                        "10 \"\" | tr -d ':\\n')");
    }
  }
}

}  // namespace pgvigil::http
