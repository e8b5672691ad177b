// The transport of `seccomp-gate serve`, after the Boost.Beast async-ssl and server-flex
// examples: a listener, and a session per connection running on its own strand. The session
// owns the bytes; everything about what to answer is the Router's (router.h).
//
// Timeouts: every asynchronous step is armed with expires_after() first, so a silent or slow
// client holds a connection for at most the handshake, idle, read or write timeout.

#include "webhook/server.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "policy/policy_config.h"
#include "webhook/logging.h"
#include "webhook/metrics.h"
#include "webhook/reloader.h"
#include "webhook/router.h"
#include "webhook/server_state.h"
#include "webhook/tls_context.h"

namespace seccomp_gate::webhook {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
// A connection's strand, as a concrete type: no type-erased executor on the request path.
using Strand = net::strand<net::io_context::executor_type>;
using TcpStream = beast::basic_stream<tcp, Strand>;
using Socket = net::basic_stream_socket<tcp, Strand>;

constexpr std::size_t kHeaderLimit = 16U << 10U;
constexpr std::size_t kReadChunk = 16U << 10U;
// After an error reply whose request body was not read, what the client still sends is read
// and dropped for this long before closing, so that it sees the reply rather than a reset.
constexpr Clock::duration kLinger = std::chrono::seconds(1);
constexpr Clock::duration kTlsShutdownTimeout = std::chrono::seconds(2);
// Once the server stops accepting, idle keep-alive connections get this long to send one last
// request (answered with Connection: close) before they are closed.
constexpr Clock::duration kIdleLinger = std::chrono::seconds(1);
constexpr Clock::duration kShutdownPoll = std::chrono::milliseconds(20);
constexpr Clock::duration kLogFlushInterval = std::chrono::milliseconds(100);

class Session;

unsigned available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int count = CPU_COUNT(&set);
        if (count > 0) return static_cast<unsigned>(count);
    }
    return std::max(1U, std::thread::hardware_concurrency());
}

// What every session shares: the configuration, the router, the TLS context in force and the
// registry that the graceful shutdown walks.
class Server {
  public:
    Server(const ServeConfig& config, const Logger& logger)
        : config_(config),
          logger_(logger),
          router_(state_, metrics_, logger_),
          reloader_(config_, state_, metrics_, logger_,
                    [this](SslCtxPtr ctx) { install_tls(std::move(ctx)); }),
          threads_(config.threads > 0 ? config.threads : available_cpus()),
          ioc_(static_cast<int>(threads_)) {}

    int run();

    const ServeConfig& config() const { return config_; }
    const Logger& logger() const { return logger_; }
    Metrics& metrics() { return metrics_; }
    const Router& router() const { return router_; }
    net::io_context& io_context() { return ioc_; }

    std::shared_ptr<ssl::context> tls() const { return tls_.load(std::memory_order_acquire); }
    bool closing() const { return closing_.load(std::memory_order_acquire); }
    bool stopped() const { return stopped_.load(std::memory_order_acquire); }
    std::size_t connections() const { return connections_.load(std::memory_order_acquire); }

    void add_session(const std::shared_ptr<Session>& session);
    void remove_session(Session* session);

  private:
    void install_tls(SslCtxPtr ctx) {
        auto context = std::make_shared<ssl::context>(ctx.release());
        tls_.store(std::move(context), std::memory_order_release);
    }
    void wait_for_signal();
    void on_signal(const beast::error_code& ec, int signal_number);
    void begin_close();
    void close_idle_sessions();
    void watch_drain(Clock::time_point deadline);
    void flush_logs_periodically();
    void finish();

    const ServeConfig& config_;
    const Logger& logger_;
    ServerState state_;
    Metrics metrics_;
    Router router_;
    std::atomic<std::shared_ptr<ssl::context>> tls_;

    std::mutex sessions_mutex_;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
    std::atomic<std::size_t> connections_{0};
    std::atomic<bool> closing_{false};
    std::atomic<bool> stopped_{false};

    Reloader reloader_;
    unsigned threads_;
    // Declared after everything a handler touches: destroyed first, with the pending handlers.
    net::io_context ioc_;
    std::optional<net::signal_set> signals_;
    std::optional<net::steady_timer> shutdown_timer_;
    std::optional<net::steady_timer> drain_timer_;
    std::optional<net::steady_timer> log_flush_timer_;
    std::shared_ptr<class Listener> listener_;
    bool signalled_ = false;
};

// One place for the errors of a connection: most are the client's business (it went away,
// it was too slow) and only visible at debug level.
void fail(const Logger& logger, beast::error_code ec, const char* what) {
    // A peer that closes without close_notify: harmless for HTTP with Content-Length.
    if (ec == ssl::error::stream_truncated) return;
    if (ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == http::error::end_of_stream) {
        return;
    }
    if (logger.enabled(LogLevel::kDebug)) {
        logger.debug("connection error", {{"step", what}, {"error", ec.message()}});
    }
}

// Errors of the HTTP parser that describe a bad request, as opposed to a peer that stopped
// sending (those cannot be answered).
bool is_malformed_request(const beast::error_code& ec) {
    if (ec.category() != http::make_error_code(http::error::bad_method).category()) return false;
    return ec != http::error::partial_message && ec != http::error::need_more &&
           ec != http::error::short_read && ec != http::error::stale_parser &&
           ec != http::error::need_buffer && ec != http::error::end_of_stream;
}

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(Socket&& socket, std::shared_ptr<ssl::context> tls, Server& server)
        : server_(server), tls_(std::move(tls)), stream_(std::move(socket), *tls_) {
        server_.metrics().connection_opened();
    }

    ~Session() {
        if (in_flight_) server_.metrics().request_finished();
        server_.metrics().connection_closed();
        server_.remove_session(this);
    }

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void run() {
        server_.add_session(shared_from_this());
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(&Session::do_handshake, shared_from_this()));
    }

    // Posted by the graceful shutdown: a connection waiting for its next request is closed;
    // one in the middle of a request finishes it (the reply says Connection: close).
    void close_if_idle() {
        if (idle_) beast::get_lowest_layer(stream_).close();
    }

    Strand executor() { return stream_.get_executor(); }

  private:
    const ServeConfig& config() const { return server_.config(); }
    TcpStream& socket_stream() { return beast::get_lowest_layer(stream_); }

    void do_handshake() {
        socket_stream().expires_after(config().handshake_timeout);
        stream_.async_handshake(
            ssl::stream_base::server,
            beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
    }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            server_.metrics().tls_handshake_failed();
            if (server_.logger().enabled(LogLevel::kDebug)) {
                server_.logger().debug("TLS handshake failed", {{"error", ec.message()}});
            }
            return;
        }
        // The first request follows the handshake at once: no idle allowance for it.
        do_read_header();
    }

    // Between keep-alive requests: wait up to the idle timeout for the first byte, then give
    // the rest of the request the (shorter) read timeout.
    void do_wait() {
        if (buffer_.size() > 0) {
            do_read_header();
            return;
        }
        idle_ = true;
        socket_stream().expires_after(config().idle_timeout);
        stream_.async_read_some(buffer_.prepare(kReadChunk),
                                beast::bind_front_handler(&Session::on_wait, shared_from_this()));
    }

    void on_wait(beast::error_code ec, std::size_t bytes) {
        idle_ = false;
        buffer_.commit(bytes);
        if (ec) return fail(server_.logger(), ec, "idle");
        do_read_header();
    }

    void do_read_header() {
        parser_.emplace();
        parser_->header_limit(kHeaderLimit);
        parser_->body_limit(config().body_limit);
        exchange_ = Exchange{};
        route_ = Route::kUnknown;
        started_ = Clock::now();
        // A keep-alive request usually arrives whole with the read that ended the idle wait:
        // parse it in place, without another asynchronous step.
        beast::error_code ec;
        parse_buffered(ec);
        if (ec) return refuse_or_fail(ec, "parse");
        if (parser_->is_header_done()) return on_read_header({}, 0);
        socket_stream().expires_after(config().read_timeout);
        http::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
    }

    // Feeds the buffered bytes to the parser; stops when they run out or the message is done.
    void parse_buffered(beast::error_code& ec) {
        while (buffer_.size() > 0 && !parser_->is_done()) {
            const std::size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec == http::error::need_more) {
                ec = {};
                return;
            }
            if (ec || used == 0) return;
        }
    }

    void on_read_header(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec == http::error::end_of_stream) return do_close();
        if (ec) return refuse_or_fail(ec, "read header");
        start_request();
        const auto& request = parser_->get();
        route_ = route_for(std::string_view(request.target().data(), request.target().size()));
        const auto method = request.method_string();
        const auto content_type = request[http::field::content_type];
        if (std::optional<Reply> reply = server_.router().check_head(
                route_, std::string_view(method.data(), method.size()),
                std::string_view(content_type.data(), content_type.size()), exchange_)) {
            return respond(std::move(*reply), request.keep_alive() && parser_->is_done());
        }
        beast::error_code parse_ec;
        parse_buffered(parse_ec);
        if (parse_ec) return refuse_or_fail(parse_ec, "parse");
        if (parser_->is_done()) return handle();
        const auto expect = request[http::field::expect];
        if (beast::iequals(expect, "100-continue")) return do_continue();
        do_read_body();
    }

    void do_continue() {
        continue_ = http::response<http::empty_body>(http::status::continue_, 11);
        socket_stream().expires_after(config().write_timeout);
        http::async_write(stream_, continue_,
                          beast::bind_front_handler(&Session::on_continue, shared_from_this()));
    }

    void on_continue(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return fail(server_.logger(), ec, "write 100-continue");
        do_read_body();
    }

    void do_read_body() {
        socket_stream().expires_after(config().read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
    }

    void on_read_body(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return refuse_or_fail(ec, "read body");
        handle();
    }

    void handle() {
        const auto& body = parser_->get().body();
        Reply reply = server_.router().handle(route_, body, exchange_);
        respond(std::move(reply), parser_->get().keep_alive());
    }

    // A request the HTTP parser refused still gets an answer when it can: 413 for a body over
    // the limit, 400 for malformed HTTP. Transport failures (timeout, reset) cannot be answered.
    void refuse_or_fail(beast::error_code ec, const char* what) {
        if (ec == http::error::body_limit) {
            if (route_ == Route::kUnknown) {
                const auto target = parser_->get().target();
                route_ = route_for(std::string_view(target.data(), target.size()));
            }
            start_request();
            return respond(Router::refuse(413,
                                          "request body larger than " +
                                              std::to_string(config().body_limit) + " bytes",
                                          exchange_),
                           false);
        }
        if (is_malformed_request(ec)) {
            start_request();
            return respond(
                Router::refuse(400, "malformed HTTP request: " + ec.message(), exchange_), false);
        }
        fail(server_.logger(), ec, what);
    }

    void start_request() {
        if (!in_flight_) server_.metrics().request_started();
        in_flight_ = true;
        exchange_.route = route_;
    }

    void respond(Reply reply, bool keep_alive) {
        keep_alive = keep_alive && !server_.closing();
        response_ = http::response<http::string_body>{};
        response_.result(reply.status);
        response_.version(11);
        response_.set(http::field::content_type,
                      beast::string_view(reply.content_type.data(), reply.content_type.size()));
        if (!reply.allow.empty()) {
            response_.set(http::field::allow,
                          beast::string_view(reply.allow.data(), reply.allow.size()));
        }
        response_.body() = std::move(reply.body);
        response_.keep_alive(keep_alive);
        response_.prepare_payload();
        socket_stream().expires_after(config().write_timeout);
        http::async_write(
            stream_, response_,
            beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive));
    }

    void on_write(bool keep_alive, beast::error_code ec, std::size_t /*bytes*/) {
        if (exchange_.status == 0) exchange_.status = response_.result_int();
        server_.router().finish(exchange_, Clock::now() - started_);
        if (in_flight_) server_.metrics().request_finished();
        in_flight_ = false;
        if (ec) return fail(server_.logger(), ec, "write");
        if (keep_alive) return do_wait();
        // The request body may still be on its way: drop it for a moment rather than reset
        // the connection under the client before it reads our reply.
        if (parser_ && !parser_->is_done()) return do_linger(Clock::now() + kLinger);
        do_close();
    }

    void do_linger(Clock::time_point until) {
        socket_stream().expires_at(until);
        stream_.async_read_some(
            buffer_.prepare(kReadChunk),
            [self = shared_from_this(), until](beast::error_code ec, std::size_t) {
                self->buffer_.clear();
                if (ec) return;
                self->do_linger(until);
            });
    }

    void do_close() {
        socket_stream().expires_after(kTlsShutdownTimeout);
        stream_.async_shutdown(
            beast::bind_front_handler(&Session::on_shutdown, shared_from_this()));
    }

    void on_shutdown(beast::error_code /*ec*/) {
        // Done either way: the socket closes with the session.
    }

    Server& server_;
    std::shared_ptr<ssl::context> tls_;  // outlives stream_, which was made from it
    ssl::stream<TcpStream> stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    http::response<http::empty_body> continue_;
    Exchange exchange_;
    Route route_ = Route::kUnknown;
    Clock::time_point started_;
    bool idle_ = false;
    bool in_flight_ = false;
};

// Accepts connections until stopped; pauses while the connection cap is reached.
class Listener : public std::enable_shared_from_this<Listener> {
  public:
    Listener(Server& server, const tcp::endpoint& endpoint)
        : server_(server),
          acceptor_(net::make_strand(server.io_context())),
          retry_timer_(acceptor_.get_executor()) {
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(net::socket_base::max_listen_connections);
    }

    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    void run() {
        net::dispatch(acceptor_.get_executor(),
                      beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
    }

    void stop() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            self->stopped_ = true;
            beast::error_code ignored;
            self->acceptor_.close(ignored);
            self->retry_timer_.cancel();
        });
    }

    // A connection closed: accept again if the cap had paused us.
    void resume() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            if (self->paused_ && !self->stopped_ &&
                self->server_.connections() < self->server_.config().max_connections) {
                self->paused_ = false;
                self->do_accept();
            }
        });
    }

  private:
    void do_accept() {
        if (stopped_) return;
        acceptor_.async_accept(net::make_strand(server_.io_context()),
                               beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, Socket socket) {
        if (stopped_ || ec == net::error::operation_aborted) return;
        if (ec) {
            // EMFILE and the like: log, breathe, try again rather than spin.
            server_.logger().error("accept failed", {{"error", ec.message()}});
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
                if (!timer_ec) self->do_accept();
            });
            return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), server_.tls(), server_)->run();
        if (server_.connections() >= server_.config().max_connections) {
            if (!paused_) {
                server_.logger().warn("connection limit reached, not accepting for now",
                                      {{"max_connections", server_.config().max_connections}});
            }
            paused_ = true;
            return;
        }
        do_accept();
    }

    Server& server_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    bool paused_ = false;
    bool stopped_ = false;
};

void Server::add_session(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(session.get(), session);
    connections_.store(sessions_.size(), std::memory_order_release);
}

void Server::remove_session(Session* session) {
    std::size_t remaining = 0;
    {
        std::lock_guard lock(sessions_mutex_);
        sessions_.erase(session);
        remaining = sessions_.size();
        connections_.store(remaining, std::memory_order_release);
    }
    if (!stopped() && listener_ && remaining + 1 >= config_.max_connections) listener_->resume();
}

void Server::close_idle_sessions() {
    std::vector<std::shared_ptr<Session>> open;
    {
        std::lock_guard lock(sessions_mutex_);
        for (const auto& [pointer, weak] : sessions_) {
            if (auto session = weak.lock()) open.push_back(std::move(session));
        }
    }
    for (auto& session : open) {
        net::post(session->executor(), [session] { session->close_if_idle(); });
    }
}

void Server::wait_for_signal() {
    signals_->async_wait(
        [this](const beast::error_code& ec, int signal_number) { on_signal(ec, signal_number); });
}

void Server::on_signal(const beast::error_code& ec, int signal_number) {
    if (ec) return;
    if (signalled_ || signal_number == SIGINT) {
        // A second signal, or Ctrl-C: no more waiting for the endpoints to update.
        state_.start_draining();
        logger_.info("shutting down now", {{"signal", signal_number}});
        if (shutdown_timer_) shutdown_timer_->cancel();
        begin_close();
        return;
    }
    signalled_ = true;
    state_.start_draining();
    logger_.info("shutting down: /readyz fails from now, still serving for the shutdown delay",
                 {{"signal", signal_number},
                  {"delay_ms", static_cast<std::int64_t>(config_.shutdown_delay.count())}});
    wait_for_signal();
    shutdown_timer_->expires_after(config_.shutdown_delay);
    shutdown_timer_->async_wait([this](const beast::error_code& timer_ec) {
        if (!timer_ec) begin_close();
    });
}

void Server::begin_close() {
    if (closing_.exchange(true)) return;
    listener_->stop();
    logger_.info("stopped accepting; finishing open requests",
                 {{"connections", connections()},
                  {"grace_ms", static_cast<std::int64_t>(config_.shutdown_grace.count())}});
    if (connections() == 0) return finish();
    const Clock::time_point deadline = Clock::now() + config_.shutdown_grace;
    const Clock::time_point idle_close =
        Clock::now() + std::min<Clock::duration>(kIdleLinger, config_.shutdown_grace);
    drain_timer_->expires_at(idle_close);
    drain_timer_->async_wait([this, deadline](const beast::error_code& ec) {
        if (ec) return;
        close_idle_sessions();
        watch_drain(deadline);
    });
}

void Server::watch_drain(Clock::time_point deadline) {
    if (connections() == 0) return finish();
    if (Clock::now() >= deadline) {
        logger_.warn("shutdown grace period over, closing the remaining connections",
                     {{"connections", connections()}});
        return finish();
    }
    drain_timer_->expires_after(kShutdownPoll);
    drain_timer_->async_wait([this, deadline](const beast::error_code& ec) {
        if (!ec) watch_drain(deadline);
    });
}

// Request lines are buffered (see logging.h): this bounds how late one shows up.
void Server::flush_logs_periodically() {
    log_flush_timer_->expires_after(kLogFlushInterval);
    log_flush_timer_->async_wait([this](const beast::error_code& ec) {
        if (ec) return;
        logger_.flush();
        flush_logs_periodically();
    });
}

void Server::finish() {
    stopped_.store(true, std::memory_order_release);
    beast::error_code ignored;
    signals_->cancel(ignored);
    log_flush_timer_->cancel();
    logger_.flush();
    ioc_.stop();
}

int Server::run() {
    reloader_.load();

    const std::string address = config_.listen_host + ":" + std::to_string(config_.listen_port);
    try {
        const tcp::endpoint endpoint(net::ip::make_address(config_.listen_host),
                                     config_.listen_port);
        listener_ = std::make_shared<Listener>(*this, endpoint);
    } catch (const std::exception& error) {
        throw ConfigError("--listen " + address + ": " + error.what());
    }
    signals_.emplace(ioc_, SIGTERM, SIGINT);
    shutdown_timer_.emplace(ioc_);
    drain_timer_.emplace(ioc_);
    log_flush_timer_.emplace(ioc_);
    wait_for_signal();
    flush_logs_periodically();

    const unsigned threads = threads_;
    const tcp::endpoint local = listener_->local_endpoint();
    logger_.info("listening",
                 {{"address", local.address().to_string() + ":" + std::to_string(local.port())},
                  {"threads", threads},
                  {"client_ca", !config_.client_ca.empty()}});
    logger_.flush();  // start-up lines are not held back
    listener_->run();
    reloader_.start();

    // A handler that throws (it should not) is logged and its thread goes back to work.
    const auto run_loop = [this] {
        for (;;) {
            try {
                ioc_.run();
                return;
            } catch (const std::exception& error) {
                logger_.error("unexpected exception in a handler", {{"error", error.what()}});
            } catch (...) {
                logger_.error("unexpected exception in a handler", {{"error", "unknown"}});
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back(run_loop);
    run_loop();
    for (std::thread& thread : pool) thread.join();
    reloader_.stop();
    logger_.info("stopped");
    return 0;
}

}  // namespace

int run_server(const ServeConfig& config) {
    // A client or a log reader that goes away must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    const Logger logger(config.log_level, STDERR_FILENO, Logger::Buffering::kBuffered);
    auto server = std::make_unique<Server>(config, logger);
    return server->run();
}

}  // namespace seccomp_gate::webhook
