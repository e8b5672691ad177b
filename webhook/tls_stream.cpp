#include "webhook/tls_stream.h"

#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace seccomp_gate::webhook {
namespace {

namespace net = boost::asio;
using error_code = boost::system::error_code;

// Small writes gathered into one SSL_write (one record, one write(2)): Beast serializes a
// response as a few buffers (status line, fields, body). Per thread; SSL_write copies it.
constexpr std::size_t kGatherBytes = 16U << 10U;
thread_local char gather_space[kGatherBytes];

// After a failed SSL call: its error as an error_code (asio's conventions: close_notify is
// eof, an EOF without it stream_truncated, an OpenSSL error in asio's ssl category).
error_code ssl_error(int error, int saved_errno) {
    switch (error) {
        case SSL_ERROR_ZERO_RETURN:
            return net::error::eof;
        case SSL_ERROR_SYSCALL: {
            const unsigned long code = ERR_get_error();
            if (code != 0) return {static_cast<int>(code), net::error::get_ssl_category()};
            if (saved_errno != 0) return {saved_errno, boost::system::system_category()};
            return net::ssl::error::stream_truncated;
        }
        default: {
            const unsigned long code = ERR_get_error();
            if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                return net::ssl::error::stream_truncated;
            if (code == 0) return net::ssl::error::unspecified_system_error;
            return {static_cast<int>(code), net::error::get_ssl_category()};
        }
    }
}

}  // namespace

TlsStream::Impl::~Impl() {
    if (ssl != nullptr) SSL_free(ssl);
}

TlsStream::TlsStream(Socket&& socket) : impl_(std::make_shared<Impl>(std::move(socket))) {}

TlsStream::~TlsStream() {
    if (!impl_) return;
    // A pending expiry handler holds impl_ until it runs (aborted): free what matters now.
    ++impl_->generation;
    impl_->timer.cancel();
    error_code ignored;
    impl_->socket.close(ignored);
    if (impl_->ssl != nullptr) {
        SSL_free(impl_->ssl);
        impl_->ssl = nullptr;
    }
}

void TlsStream::close() {
    error_code ignored;
    impl_->socket.close(ignored);
}

void TlsStream::expires_at(Clock::time_point when) {
    Impl& impl = *impl_;
    impl.expired = false;
    const std::uint64_t generation = ++impl.generation;
    impl.timer.expires_at(when);
    impl.timer.async_wait([self = impl_, generation](const error_code& ec) {
        if (ec || generation != self->generation) return;
        self->expired = true;
        error_code ignored;
        self->socket.close(ignored);
    });
}

void TlsStream::expires_never() {
    ++impl_->generation;
    impl_->expired = false;
    impl_->timer.cancel();
}

TlsStream::error_code TlsStream::timeout_or(error_code ec) const {
    if (ec == net::error::operation_aborted && impl_->expired) return boost::beast::error::timeout;
    return ec;
}

TlsStream::error_code TlsStream::closed_error(const Impl& impl) {
    if (impl.expired) return boost::beast::error::timeout;
    return net::error::operation_aborted;
}

void TlsStream::start_tls(SSL_CTX* context, error_code& ec) {
    ec = {};
    Impl& impl = *impl_;
    impl.socket.non_blocking(true, ec);
    if (ec) return;
    ERR_clear_error();
    SSL* ssl = SSL_new(context);
    if (ssl == nullptr) {
        ec = {static_cast<int>(ERR_get_error()), net::error::get_ssl_category()};
        return;
    }
    // Record buffers go back while idle; a write may be retried from another buffer with the
    // same bytes (the gathered copy) and may complete after a part.
    SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (SSL_set_fd(ssl, impl.socket.native_handle()) != 1) {
        ec = {static_cast<int>(ERR_get_error()), net::error::get_ssl_category()};
        SSL_free(ssl);
        return;
    }
    SSL_set_accept_state(ssl);
    impl.ssl = ssl;
}

std::size_t TlsStream::read_pending(net::mutable_buffer buffer, error_code& ec) {
    ec = {};
    if (!impl_->socket.is_open() || impl_->ssl == nullptr) {
        ec = closed_error(*impl_);
        return 0;
    }
    const Step step = read_step(*impl_, buffer);
    if (step.want != SSL_ERROR_NONE) {
        ec = step.ec ? step.ec : net::error::would_block;
        return 0;
    }
    return step.bytes;
}

TlsStream::Step TlsStream::read_step(Impl& impl, net::mutable_buffer buffer) {
    ERR_clear_error();
    std::size_t read = 0;
    errno = 0;
    if (SSL_read_ex(impl.ssl, buffer.data(), buffer.size(), &read) == 1) return {SSL_ERROR_NONE, read, {}};
    const int saved_errno = errno;
    const int error = SSL_get_error(impl.ssl, 0);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return {error, 0, {}};
    return {error, 0, ssl_error(error, saved_errno)};
}

TlsStream::Step TlsStream::write_step(Impl& impl, const net::const_buffer* first,
                                      const net::const_buffer* last) {
    const void* data = first->data();
    std::size_t size = first->size();
    if (last - first > 1 && size < kGatherBytes) {
        // Gather what fits: the same bytes on a retry (the sequence does not change meanwhile).
        size = 0;
        for (const net::const_buffer* part = first; part != last && size < kGatherBytes; ++part) {
            const std::size_t take = std::min(part->size(), kGatherBytes - size);
            std::memcpy(gather_space + size, part->data(), take);
            size += take;
        }
        data = gather_space;
    }
    ERR_clear_error();
    std::size_t written = 0;
    errno = 0;
    if (SSL_write_ex(impl.ssl, data, size, &written) == 1) return {SSL_ERROR_NONE, written, {}};
    const int saved_errno = errno;
    const int error = SSL_get_error(impl.ssl, 0);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return {error, 0, {}};
    return {error, 0, ssl_error(error, saved_errno)};
}

TlsStream::Step TlsStream::handshake_step(Impl& impl) {
    ERR_clear_error();
    errno = 0;
    const int result = SSL_do_handshake(impl.ssl);
    if (result == 1) return {};
    const int saved_errno = errno;
    const int error = SSL_get_error(impl.ssl, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return {error, 0, {}};
    return {error == SSL_ERROR_NONE ? SSL_ERROR_SSL : error, 0, ssl_error(error, saved_errno)};
}

TlsStream::Step TlsStream::shutdown_step(Impl& impl) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_shutdown(impl.ssl);
    // 0: our close_notify went; now wait for the peer's.
    if (result == 0) result = SSL_shutdown(impl.ssl);
    if (result == 1) return {};
    const int saved_errno = errno;
    const int error = SSL_get_error(impl.ssl, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return {error, 0, {}};
    return {error == SSL_ERROR_NONE ? SSL_ERROR_SSL : error, 0, ssl_error(error, saved_errno)};
}

}  // namespace seccomp_gate::webhook
