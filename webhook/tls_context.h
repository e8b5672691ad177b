#pragma once
// The server's TLS settings, with OpenSSL alone (no Asio here): TLS 1.2 minimum, ECDHE with
// AEAD ciphers only, no compression, no renegotiation, optional client-certificate checks.

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>

namespace seccomp_gate::webhook {

struct TlsFiles {
    std::filesystem::path cert;       // PEM chain, leaf first
    std::filesystem::path key;        // PEM private key (ECDSA or RSA)
    std::filesystem::path client_ca;  // empty: clients are not asked for a certificate
};

struct SslCtxDeleter {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// Throws ConfigError naming the file and OpenSSL's reason.
SslCtxPtr make_server_tls_context(const TlsFiles& files);

}  // namespace seccomp_gate::webhook
