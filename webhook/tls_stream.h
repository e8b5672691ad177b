// A TLS stream of our own for the webhook server: the SSL object reads and writes the socket
// itself (SSL_set_fd on the non-blocking socket); when it would block, the operation waits for
// readiness (async_wait) and tries again. Unlike asio's ssl::stream it holds no buffers of its
// own (asio's engine keeps two 17 KiB buffers and a 2 x 17 KiB BIO pair for the life of the
// stream): with SSL_MODE_RELEASE_BUFFERS an idle connection is the SSL object and the socket.
//
// Satisfies Beast's AsyncReadStream / AsyncWriteStream. Operations are composed with
// net::async_compose: their handlers run on the handler's executor, else the socket's strand.
// Timeouts like beast::basic_stream's: expires_after() bounds the operations that follow; when
// the time passes the socket is closed and the pending operation fails with beast timeout.

#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

namespace seccomp_gate::webhook {

class TlsStream {
  public:
    using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Strand>;
    using executor_type = Strand;
    using Clock = std::chrono::steady_clock;
    using error_code = boost::system::error_code;

    explicit TlsStream(Socket&& socket);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    executor_type get_executor() noexcept { return impl_->socket.get_executor(); }
    Socket& socket() { return impl_->socket; }
    SSL* native_handle() { return impl_->ssl; }
    bool has_tls() const { return impl_->ssl != nullptr; }

    // Closes the socket: a pending operation completes with operation_aborted.
    void close();

    // Bounds what follows (like beast::basic_stream): when the time passes, the socket closes
    // and the pending operation fails with beast::error::timeout.
    void expires_after(Clock::duration limit) { expires_at(Clock::now() + limit); }
    void expires_at(Clock::time_point when);
    void expires_never();
    // Whether the last expiry passed (and closed the socket).
    bool expired() const { return impl_->expired; }
    // operation_aborted because the expiry passed becomes beast::error::timeout.
    error_code timeout_or(error_code ec) const;

    // The SSL object, made from the context in force (it inherits its settings), server side.
    void start_tls(SSL_CTX* context, error_code& ec);

    // Decrypted bytes already held by the SSL object (SSL_pending): taken without I/O.
    std::size_t read_pending(boost::asio::mutable_buffer buffer, error_code& ec);

    template <class MutableBuffers, class Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        return boost::asio::async_compose<Handler, void(error_code, std::size_t)>(
            Op<Kind::kRead, MutableBuffers>(impl_.get(), buffers), handler, impl_->socket);
    }

    template <class ConstBuffers, class Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        return boost::asio::async_compose<Handler, void(error_code, std::size_t)>(
            Op<Kind::kWrite, ConstBuffers>(impl_.get(), buffers), handler, impl_->socket);
    }

    // Server side. Handler: void(error_code, std::size_t) (the size is always 0).
    template <class Handler>
    auto async_handshake(Handler&& handler) {
        return boost::asio::async_compose<Handler, void(error_code, std::size_t)>(
            Op<Kind::kHandshake, boost::asio::const_buffer>(impl_.get(), boost::asio::const_buffer()), handler,
            impl_->socket);
    }

    // Sends close_notify and waits for the peer's. Handler: void(error_code, std::size_t).
    template <class Handler>
    auto async_shutdown(Handler&& handler) {
        return boost::asio::async_compose<Handler, void(error_code, std::size_t)>(
            Op<Kind::kShutdown, boost::asio::const_buffer>(impl_.get(), boost::asio::const_buffer()), handler,
            impl_->socket);
    }

  private:
    using Timer =
        boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Strand>;

    struct Impl {
        explicit Impl(Socket&& s) : socket(std::move(s)), timer(socket.get_executor()) {}
        ~Impl();
        Impl(const Impl&) = delete;
        Impl& operator=(const Impl&) = delete;
        Socket socket;
        Timer timer;
        SSL* ssl = nullptr;
        std::uint64_t generation = 0;
        bool expired = false;
    };

    enum class Kind { kRead, kWrite, kHandshake, kShutdown };

    // One step of an operation: SSL_ERROR_NONE when done (bytes set), SSL_ERROR_WANT_READ /
    // _WANT_WRITE to wait and retry, otherwise failed with ec.
    struct Step {
        int want = SSL_ERROR_NONE;
        std::size_t bytes = 0;
        error_code ec;
    };
    static Step read_step(Impl& impl, boost::asio::mutable_buffer buffer);
    static Step write_step(Impl& impl, const boost::asio::const_buffer* first,
                           const boost::asio::const_buffer* last);
    static Step handshake_step(Impl& impl);
    static Step shutdown_step(Impl& impl);
    static error_code closed_error(const Impl& impl);

    template <Kind kind, class Buffers>
    struct Op {
        Op(Impl* stream, const Buffers& data) : impl(stream), buffers(data) {}
        Impl* impl;
        Buffers buffers;
        enum class Phase { kStart, kWaiting, kPosted } phase = Phase::kStart;
        error_code result;
        std::size_t bytes = 0;

        template <class Self>
        void operator()(Self& self, error_code ec = {}) {
            if (phase == Phase::kPosted) return self.complete(result, bytes);
            const bool waited = phase == Phase::kWaiting;
            if (waited && ec) {
                if (ec == boost::asio::error::operation_aborted && impl->expired)
                    ec = boost::beast::error::timeout;
                return self.complete(ec, 0);
            }
            Step step;
            if (!impl->socket.is_open() || impl->ssl == nullptr) {
                step.want = SSL_ERROR_SSL;
                step.ec = closed_error(*impl);
            } else {
                step = run();
            }
            if (step.want == SSL_ERROR_WANT_READ || step.want == SSL_ERROR_WANT_WRITE) {
                phase = Phase::kWaiting;
                impl->socket.async_wait(step.want == SSL_ERROR_WANT_READ
                                            ? Socket::wait_read
                                            : Socket::wait_write,
                                        std::move(self));
                return;
            }
            if (waited) return self.complete(step.ec, step.bytes);
            // Done without waiting: the handler must not run inside the initiating call.
            phase = Phase::kPosted;
            result = step.ec;
            bytes = step.bytes;
            boost::asio::post(std::move(self));
        }

        Step run() {
            if constexpr (kind == Kind::kRead) {
                auto it = boost::asio::buffer_sequence_begin(buffers);
                const auto end = boost::asio::buffer_sequence_end(buffers);
                for (; it != end; ++it) {
                    const boost::asio::mutable_buffer buffer(*it);
                    if (buffer.size() > 0) return read_step(*impl, buffer);
                }
                return {};
            } else if constexpr (kind == Kind::kWrite) {
                // At most a few buffers are gathered (Beast's serializer): up to kGather.
                constexpr std::size_t kGather = 16;
                boost::asio::const_buffer parts[kGather];
                std::size_t count = 0;
                auto it = boost::asio::buffer_sequence_begin(buffers);
                const auto end = boost::asio::buffer_sequence_end(buffers);
                for (; it != end && count < kGather; ++it) {
                    const boost::asio::const_buffer buffer(*it);
                    if (buffer.size() > 0) parts[count++] = buffer;
                }
                if (count == 0) return {};
                return write_step(*impl, parts, parts + count);
            } else if constexpr (kind == Kind::kHandshake) {
                return handshake_step(*impl);
            } else {
                return shutdown_step(*impl);
            }
        }
    };

    std::shared_ptr<Impl> impl_;
};

}  // namespace seccomp_gate::webhook
