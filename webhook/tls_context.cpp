#include "webhook/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>

#include "policy/policy_config.h"

namespace seccomp_gate::webhook {
namespace {

// TLS 1.2 suites: forward secrecy (ECDHE) and authenticated encryption (GCM, ChaCha20) only.
// TLS 1.3 suites are all AEAD with (EC)DHE, OpenSSL's default list is kept.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr unsigned char kSessionContext[] = "seccomp-gate";

std::string openssl_reason() {
    std::string reason;
    while (const unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        if (!reason.empty()) reason += "; ";
        reason += text;
    }
    return reason.empty() ? "unknown OpenSSL error" : reason;
}

[[noreturn]] void fail(const std::filesystem::path& file, std::string_view what) {
    throw ConfigError(file.string() + ": " + std::string(what) + ": " + openssl_reason());
}

// Offers HTTP/1.1 when the client uses ALPN (the API server offers h2 and http/1.1).
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                const unsigned char* in, unsigned int in_length, void* /*arg*/) {
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof kHttp11, in, in_length) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

SslCtxPtr make_server_tls_context(const TlsFiles& files) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail(files.cert, "creating the TLS context");
    SSL_CTX* c = ctx.get();

    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(
        c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_clear_options(c, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) fail(files.cert, "setting the ciphers");
    if (SSL_CTX_set1_groups_list(c, kGroups) != 1) fail(files.cert, "setting the groups");
    SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
    SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
    // Idle keep-alive connections give their record buffers back: small memory per client.
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);

    if (SSL_CTX_use_certificate_chain_file(c, files.cert.c_str()) != 1) {
        fail(files.cert, "reading the certificate chain");
    }
    if (SSL_CTX_use_PrivateKey_file(c, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        fail(files.key, "reading the private key");
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        fail(files.key, "the private key does not match the certificate " + files.cert.string());
    }

    if (!files.client_ca.empty()) {
        if (SSL_CTX_load_verify_locations(c, files.client_ca.c_str(), nullptr) != 1) {
            fail(files.client_ca, "reading the client CA bundle");
        }
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
        if (names == nullptr) fail(files.client_ca, "reading the client CA names");
        SSL_CTX_set_client_CA_list(c, names);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    return ctx;
}

}  // namespace seccomp_gate::webhook
