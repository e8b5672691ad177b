// The transport of `seccomp-gate serve`, after the Boost.Beast async-ssl and server-flex
// examples: a listener, and a session per connection running on its own strand. The session
// owns the bytes; everything about what to answer is the Router's (router.h).
//
// Timeouts: every asynchronous step is armed with expires_after() first, so a silent or slow
// client holds a connection for at most the handshake, idle, read or write timeout.

#include "webhook/server.h"

#include <malloc.h>
#include <openssl/ssl.h>
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
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "policy/policy_config.h"
#include "webhook/body_budget.h"
#include "webhook/logging.h"
#include "webhook/metrics.h"
#include "webhook/reloader.h"
#include "webhook/router.h"
#include "webhook/server_state.h"
#include "webhook/tls_context.h"
#include "webhook/tls_stream.h"

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
// A client that connects and does not start TLS within this part of the handshake timeout
// (2 s of the default 10 s) is closed: the API server sends its ClientHello at once.
constexpr int kTlsStartDivisor = 5;
// How long a request waits for room in the request body budget before its 503.
constexpr Clock::duration kBudgetWait = std::chrono::seconds(2);
// The stream's own timeout, a backstop behind our request deadline (which answers 408).
constexpr Clock::duration kDeadlineSlack = std::chrono::seconds(2);
// The connection-limit episode is over when the cap has not been reached for this long.
constexpr Clock::duration kLimitQuiet = std::chrono::seconds(5);
// Freed memory is handed back to the system (malloc_trim, off the I/O threads) after this many
// connections closed, or a body this large.
constexpr std::size_t kTrimAfterCloses = 64;
constexpr std::size_t kTrimAfterBody = 1U << 20U;

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
          budget_(config.body_budget, metrics_, logger_),
          reloader_(config_, state_, metrics_, logger_,
                    [this](SslCtxPtr ctx) { install_tls(std::move(ctx)); }),
          threads_(config.threads > 0 ? config.threads : available_cpus()),
          ioc_(static_cast<int>(threads_)) {}

    int run();

    const ServeConfig& config() const { return config_; }
    const Logger& logger() const { return logger_; }
    Metrics& metrics() { return metrics_; }
    const Router& router() const { return router_; }
    BodyBudget& budget() { return budget_; }
    // Asks the housekeeping (the reloader's thread) to give freed memory back to the system.
    void request_trim() { trim_requested_.store(true, std::memory_order_relaxed); }
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
    void on_listener_closed();
    void housekeeping();
    void close_idle_sessions();
    void watch_drain(Clock::time_point deadline);
    void flush_logs_periodically();
    void finish();

    const ServeConfig& config_;
    const Logger& logger_;
    ServerState state_;
    Metrics metrics_;
    Router router_;
    BodyBudget budget_;
    std::atomic<std::shared_ptr<ssl::context>> tls_;
    std::atomic<bool> trim_requested_{false};
    std::atomic<std::size_t> closed_since_trim_{0};
    std::atomic<bool> close_started_{false};

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

// Whether a request's framing can be trusted, from its head: RFC 9112 sections 3.2 (Host) and
// 6.1 (Transfer-Encoding). Beast reads `gzip, chunked` as chunked and `chunked, identity` or
// `xchunked` as no body at all; what follows would then be read as the next request.
std::optional<Reply> check_framing(const http::request_parser<http::string_body>& parser,
                                   Exchange& exchange) {
    const auto& request = parser.get();
    const std::size_t hosts = request.count(http::field::host);
    if (hosts > 1 || (hosts == 0 && request.version() >= 11)) {
        return Router::refuse(400,
                              hosts == 0 ? "malformed HTTP request: HTTP/1.1 without a Host header"
                                         : "malformed HTTP request: more than one Host header",
                              exchange);
    }
    std::vector<std::string_view> codings;
    const auto [first, last] = request.equal_range(http::field::transfer_encoding);
    for (auto field = first; field != last; ++field) {
        std::string_view value(field->value().data(), field->value().size());
        while (!value.empty()) {
            const auto comma = value.find(',');
            std::string_view token = value.substr(0, comma);
            value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
            while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
                token.remove_prefix(1);
            while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
                token.remove_suffix(1);
            if (!token.empty()) codings.push_back(token);
        }
    }
    if (request.count(http::field::transfer_encoding) == 0) return std::nullopt;
    const auto is_chunked = [](std::string_view coding) {
        return beast::iequals(beast::string_view(coding.data(), coding.size()), "chunked");
    };
    if (codings.empty() || !is_chunked(codings.back()) ||
        std::count_if(codings.begin(), codings.end(), is_chunked) != 1) {
        return Router::refuse(
            400, "malformed HTTP request: Transfer-Encoding must end with chunked, once", exchange);
    }
    if (codings.size() > 1) {
        // The length is known (chunked), but we do not decode gzip and the like.
        return Router::refuse(501,
                              "transfer coding \"" + std::string(codings.front().substr(0, 40)) +
                                  "\" not supported: send the body as is or chunked",
                              exchange);
    }
    return std::nullopt;
}

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(Socket&& socket, std::shared_ptr<ssl::context> tls, Server& server)
        : server_(server),
          tls_(std::move(tls)),
          deadline_(socket.get_executor()),
          stream_(std::move(socket)) {
        server_.metrics().connection_opened();
    }

    ~Session() {
        release_body();
        if (in_flight_) server_.metrics().request_finished();
        server_.metrics().connection_closed();
        server_.remove_session(this);
    }

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void run() {
        server_.add_session(shared_from_this());
        net::dispatch(executor(),
                      beast::bind_front_handler(&Session::do_wait_tls, shared_from_this()));
    }

    // Posted by the graceful shutdown: a connection waiting for its next request (or for its
    // first byte) is closed; one in the middle of a request finishes it (Connection: close).
    void close_if_idle() {
        if (idle_) stream_.close();
    }

    Strand executor() { return deadline_.get_executor(); }

  private:
    using Timer = net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Strand>;
    // What follows a response: the next request, a moment of reading and dropping what the
    // client still sends (a request body we did not read), or the TLS close.
    enum class After { kKeepAlive, kDrain, kClose };
    enum class Stage { kNone, kHeader, kBody, kBudget };

    const ServeConfig& config() const { return server_.config(); }

    // Before TLS the connection is a socket and nothing else: the SSL object is made when the
    // client's first byte arrives (seen, not read: OpenSSL reads the socket itself), so
    // connections that never start TLS cost little and are cut after a short timeout.
    void do_wait_tls() {
        idle_ = true;
        stream_.expires_after(config().handshake_timeout / kTlsStartDivisor);
        stream_.socket().async_wait(
            Socket::wait_read,
            beast::bind_front_handler(&Session::on_wait_tls, shared_from_this()));
    }

    void on_wait_tls(beast::error_code ec) {
        idle_ = false;
        ec = stream_.timeout_or(ec);
        if (!ec) {
            // Readable: a byte, or the peer's FIN (a TCP probe), or an error.
            char peek = 0;
            stream_.socket().receive(net::buffer(&peek, 1), Socket::message_peek, ec);
        }
        if (ec) {
            // A client that connects and says nothing; one that closes at once (a TCP probe)
            // is not an error.
            if (ec == beast::error::timeout) server_.metrics().tls_handshake_failed();
            return fail(server_.logger(), ec, "wait for TLS");
        }
        stream_.start_tls(tls_->native_handle(), ec);
        if (ec) {
            server_.metrics().tls_handshake_failed();
            return fail(server_.logger(), ec, "start TLS");
        }
        do_handshake();
    }

    void do_handshake() {
        stream_.expires_after(config().handshake_timeout);
        stream_.async_handshake(
            beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
    }

    void on_handshake(beast::error_code ec, std::size_t /*bytes*/) {
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

    // Between keep-alive requests: wait up to the idle timeout for one byte, with no buffer of
    // our own (the connection holds only what TLS needs), then give the rest of the request the
    // (shorter) read timeout.
    void do_wait() {
        if (buffer_.size() > 0) return do_read_header();
        idle_ = true;
        stream_.expires_after(config().idle_timeout);
        stream_.async_read_some(net::buffer(&first_byte_, 1),
                                 beast::bind_front_handler(&Session::on_wait, shared_from_this()));
    }

    void on_wait(beast::error_code ec, std::size_t bytes) {
        idle_ = false;
        if (ec) return fail(server_.logger(), ec, "idle");
        // The rest of the TLS record that byte came in was decrypted with it: usually the whole
        // request. Taken without another asynchronous step (SSL_read does no I/O for it).
        const int pending = SSL_pending(stream_.native_handle());
        const std::size_t more = pending > 0 ? static_cast<std::size_t>(pending) : 0;
        const net::mutable_buffer space = buffer_.prepare(bytes + more);
        std::memcpy(space.data(), &first_byte_, bytes);
        std::size_t taken = bytes;
        if (more > 0) {
            beast::error_code read_ec;
            taken += stream_.read_pending(
                net::buffer(static_cast<char*>(space.data()) + bytes, more), read_ec);
        }
        buffer_.commit(taken);
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
        // parse its head in place, without another asynchronous step.
        beast::error_code ec;
        parse_buffered(ec, /*header_only=*/true);
        if (ec) return refuse_or_fail(ec, "parse");
        if (parser_->is_header_done()) return on_read_header({}, 0);
        arm_deadline(Stage::kHeader, config().read_timeout);
        http::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
    }

    // Feeds the buffered bytes to the parser; stops when they run out, the message is done, or
    // (header_only) its head is.
    void parse_buffered(beast::error_code& ec, bool header_only) {
        while (buffer_.size() > 0 && !parser_->is_done() &&
               !(header_only && parser_->is_header_done())) {
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
        const bool timed_out = disarm_deadline();
        if (timed_out && ec == net::error::operation_aborted) {
            // 408 only when part of a request came; a silent connection is just closed.
            if (buffer_.size() > 0 || parser_->got_some()) return refuse_timeout(Stage::kHeader);
            return;
        }
        if (ec == http::error::end_of_stream) return do_close();
        if (ec) return refuse_or_fail(ec, "read header");
        start_request();
        const auto& request = parser_->get();
        route_ = route_for(std::string_view(request.target().data(), request.target().size()));
        exchange_.route = route_;
        const auto verb = http::to_string(request.method());
        if (std::optional<Reply> reply = check_framing(*parser_, exchange_)) {
            exchange_.method = std::string_view(verb.data(), verb.size());
            return respond(std::move(*reply), After::kDrain);
        }
        const auto method = request.method_string();
        const auto content_type = request[http::field::content_type];
        std::optional<Reply> reply = server_.router().check_head(
            route_, std::string_view(method.data(), method.size()),
            std::string_view(content_type.data(), content_type.size()), exchange_);
        // The method as a static string: the parser (and its buffer) goes before the log line.
        exchange_.method = std::string_view(verb.data(), verb.size());
        if (reply) {
            beast::error_code parse_ec;
            parse_buffered(parse_ec, false);
            return respond(std::move(*reply),
                           request.keep_alive() && !parse_ec && parser_->is_done()
                               ? After::kKeepAlive
                               : After::kDrain);
        }
        if (parser_->is_done()) return handle();
        // A body: its share of the budget first. Content-Length: all of it before reading;
        // chunked: as it is read.
        chunked_ = parser_->chunked();
        if (chunked_) return read_body();
        const std::size_t length = static_cast<std::size_t>(parser_->content_length().value_or(0));
        budget_deadline_ = Clock::now() + kBudgetWait;
        take_budget(length, /*first=*/true);
    }

    // Takes `bytes` of the request body budget, or waits for room until budget_deadline_.
    void take_budget(std::size_t bytes, bool first) {
        std::uint64_t ticket = 0;
        auto wake = [self = shared_from_this()] {
            net::post(self->executor(), [self] { self->on_budget_wake(); });
        };
        if (server_.budget().acquire_or_wait(bytes, first, std::move(wake), ticket)) {
            budgeted_ += bytes;
            return after_budget();
        }
        waiting_bytes_ = bytes;
        budget_ticket_ = ticket;
        budget_waited_ = true;
        // A chunked body waits within its body deadline, already armed.
        if (stage_ == Stage::kNone || stage_ == Stage::kBudget) {
            arm_deadline(Stage::kBudget, budget_deadline_ - Clock::now());
        }
        waiting_ = true;
    }

    void on_budget_wake() {
        if (!waiting_) return;
        waiting_ = false;
        std::uint64_t ticket = 0;
        auto wake = [self = shared_from_this()] {
            net::post(self->executor(), [self] { self->on_budget_wake(); });
        };
        if (!server_.budget().acquire_or_wait(waiting_bytes_, false, std::move(wake), ticket)) {
            budget_ticket_ = ticket;
            waiting_ = true;
            return;
        }
        budgeted_ += waiting_bytes_;
        after_budget();
    }

    // The budget share is taken: read the body, or go on reading a chunked one.
    void after_budget() {
        if (stage_ == Stage::kBody) {  // a chunked body, within its own deadline
            if (!parser_->is_done()) return do_read_body_step();
            disarm_deadline();
            return handle();
        }
        disarm_deadline();  // the wait's, if it waited
        read_body();
    }

    // The budget stayed full for the whole wait.
    void refuse_busy() {
        waiting_ = false;
        server_.budget().give_up(budget_ticket_);
        respond(Router::refuse(503,
                               "server busy: request bodies in flight use the whole budget of " +
                                   std::to_string(server_.budget().capacity()) + " bytes; retry",
                               exchange_),
                After::kDrain);
    }

    void read_body() {
        beast::error_code parse_ec;
        parse_buffered(parse_ec, false);
        if (parse_ec) return refuse_or_fail(parse_ec, "parse");
        if (parser_->is_done()) return handle();
        const auto expect = parser_->get()[http::field::expect];
        if (beast::iequals(expect, "100-continue")) return do_continue();
        do_read_body();
    }

    void do_continue() {
        continue_ = http::response<http::empty_body>(http::status::continue_, 11);
        stream_.expires_after(config().write_timeout);
        http::async_write(stream_, continue_,
                          beast::bind_front_handler(&Session::on_continue, shared_from_this()));
    }

    void on_continue(beast::error_code ec, std::size_t /*bytes*/) {
        continue_ = {};
        if (ec) return fail(server_.logger(), ec, "write 100-continue");
        do_read_body();
    }

    void do_read_body() {
        arm_deadline(Stage::kBody, config().read_timeout);
        do_read_body_step();
    }

    void do_read_body_step() {
        if (chunked_) {
            http::async_read_some(
                stream_, buffer_, *parser_,
                beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
            return;
        }
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
    }

    void on_read_body(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec == net::error::operation_aborted && timed_out_) {
            disarm_deadline();
            return refuse_timeout(Stage::kBody);
        }
        if (ec) {
            disarm_deadline();
            return refuse_or_fail(ec, "read body");
        }
        if (chunked_) {
            // Counted as read: what the body holds beyond its share so far.
            const std::size_t size = parser_->get().body().size();
            if (size > budgeted_) {
                const std::size_t more = size - budgeted_;
                if (!server_.budget().try_acquire(more)) return take_budget(more, !budget_waited_);
                budgeted_ += more;
            }
            if (!parser_->is_done()) return do_read_body_step();
        }
        disarm_deadline();
        handle();
    }

    void handle() {
        const auto& body = parser_->get().body();
        Reply reply = server_.router().handle(route_, body, exchange_);
        const bool keep_alive = parser_->get().keep_alive();
        // The body is done with: its memory and its share of the budget go before the answer
        // is written (a client that does not read its answer holds only the answer).
        release_body();
        respond(std::move(reply), keep_alive ? After::kKeepAlive : After::kClose);
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
                           After::kDrain);
        }
        if (is_malformed_request(ec)) {
            start_request();
            return respond(
                Router::refuse(400, "malformed HTTP request: " + ec.message(), exchange_),
                After::kDrain);
        }
        fail(server_.logger(), ec, what);
    }

    // A request whose head or body did not arrive within the read timeout: 408, then close.
    void refuse_timeout(Stage stage) {
        const bool header = stage == Stage::kHeader;
        server_.metrics().count(header ? TransportEvent::kHeaderTimeout
                                       : TransportEvent::kBodyTimeout);
        if (route_ == Route::kUnknown && parser_->is_header_done()) {
            const auto target = parser_->get().target();
            route_ = route_for(std::string_view(target.data(), target.size()));
        }
        start_request();
        const auto limit_ms = static_cast<std::int64_t>(config().read_timeout.count());
        server_.logger().info("request timed out", {{"stage", header ? "header" : "body"},
                                                    {"timeout_ms", limit_ms},
                                                    {"body_bytes", budgeted_}});
        respond(Router::refuse(408,
                               std::string("request timeout: the request ") +
                                   (header ? "header" : "body") + " did not arrive within " +
                                   std::to_string(limit_ms) + " ms",
                               exchange_),
                After::kClose);
    }

    // Our own deadline for reading a request, so that a slow client can still be answered 408:
    // the stream's own timeout (armed a little later, as a backstop) would close the socket.
    // Also bounds a wait for the body budget.
    void arm_deadline(Stage stage, Clock::duration limit) {
        stage_ = stage;
        timed_out_ = false;
        const std::uint64_t generation = ++deadline_generation_;
        stream_.expires_after(limit + kDeadlineSlack);
        deadline_.expires_after(limit);
        deadline_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
            if (ec || generation != self->deadline_generation_) return;
            self->on_deadline();
        });
    }

    // Returns whether the deadline had passed.
    bool disarm_deadline() {
        if (stage_ == Stage::kNone && !timed_out_) return false;  // none armed
        ++deadline_generation_;
        stage_ = Stage::kNone;
        deadline_.cancel();
        const bool timed_out = timed_out_;
        timed_out_ = false;
        return timed_out;
    }

    void on_deadline() {
        if (waiting_) {
            stage_ = Stage::kNone;
            return refuse_busy();
        }
        timed_out_ = true;
        beast::error_code ignored;
        stream_.socket().cancel(ignored);  // the read completes with operation_aborted
    }

    void start_request() {
        if (!in_flight_) server_.metrics().request_started();
        in_flight_ = true;
        exchange_.route = route_;
    }

    // The parser holds the request body: freeing it gives its budget share back.
    void release_body() {
        parser_.reset();
        if (budgeted_ > 0) {
            server_.budget().release(budgeted_);
            if (budgeted_ >= kTrimAfterBody) server_.request_trim();
            budgeted_ = 0;
        }
        budget_waited_ = false;
    }

    void respond(Reply reply, After after) {
        if (after == After::kKeepAlive && server_.closing()) after = After::kClose;
        if (after == After::kClose && parser_ && !parser_->is_done()) after = After::kDrain;
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
        response_.keep_alive(after == After::kKeepAlive);
        response_.prepare_payload();
        stream_.expires_after(config().write_timeout);
        http::async_write(stream_, response_,
                          beast::bind_front_handler(&Session::on_write, shared_from_this(), after));
    }

    void on_write(After after, beast::error_code ec, std::size_t /*bytes*/) {
        if (exchange_.status == 0) exchange_.status = response_.result_int();
        server_.router().finish(exchange_, Clock::now() - started_);
        if (in_flight_) server_.metrics().request_finished();
        in_flight_ = false;
        // Nothing of the request outlives its answer: an idle connection holds only TLS state.
        response_ = {};
        exchange_ = Exchange{};
        release_body();
        if (buffer_.size() == 0) buffer_.shrink_to_fit();
        if (ec) return fail(server_.logger(), ec, "write");
        switch (after) {
            case After::kKeepAlive:
                return do_wait();
            case After::kDrain:
                // The request body may still be on its way: drop it for a moment rather than
                // reset the connection under the client before it reads our reply.
                return do_linger(Clock::now() + kLinger);
            case After::kClose:
                break;
        }
        do_close();
    }

    void do_linger(Clock::time_point until) {
        stream_.expires_at(until);
        stream_.async_read_some(
            buffer_.prepare(kReadChunk),
            [self = shared_from_this(), until](beast::error_code ec, std::size_t) {
                self->buffer_.clear();
                if (ec) return;
                self->do_linger(until);
            });
    }

    void do_close() {
        stream_.expires_after(kTlsShutdownTimeout);
        stream_.async_shutdown(
            beast::bind_front_handler(&Session::on_shutdown, shared_from_this()));
    }

    void on_shutdown(beast::error_code /*ec*/, std::size_t /*bytes*/) {
        // Done either way: the socket closes with the session.
    }

    Server& server_;
    std::shared_ptr<ssl::context> tls_;  // the context in force when the connection came
    Timer deadline_;                     // constructed first: it takes the socket's strand
    TlsStream stream_;                   // the socket; the SSL object from the first byte on
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    http::response<http::empty_body> continue_;
    Exchange exchange_;
    Route route_ = Route::kUnknown;
    Clock::time_point started_;
    Clock::time_point budget_deadline_;
    std::uint64_t deadline_generation_ = 0;
    std::uint64_t budget_ticket_ = 0;
    std::size_t budgeted_ = 0;       // this request's share of the body budget
    std::size_t waiting_bytes_ = 0;  // what it waits for
    Stage stage_ = Stage::kNone;
    char first_byte_ = 0;
    bool idle_ = false;
    bool in_flight_ = false;
    bool chunked_ = false;
    bool waiting_ = false;
    bool budget_waited_ = false;
    bool timed_out_ = false;
};

// Accepts connections until stopped; pauses while the connection cap is reached.
class Listener : public std::enable_shared_from_this<Listener> {
  public:
    Listener(Server& server, const tcp::endpoint& endpoint)
        : server_(server),
          acceptor_(net::make_strand(server.io_context())),
          retry_timer_(acceptor_.get_executor()),
          limit_timer_(acceptor_.get_executor()) {
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

    // Closes the listening socket, then calls `then` (on the listener's strand): whatever
    // `then` does (answering with Connection: close) happens when reconnecting is refused.
    void stop(std::function<void()> then) {
        net::post(acceptor_.get_executor(), [self = shared_from_this(), then = std::move(then)] {
            self->stopped_ = true;
            beast::error_code ignored;
            self->acceptor_.close(ignored);
            self->retry_timer_.cancel();
            self->limit_timer_.cancel();
            then();
        });
    }

    // A connection closed: accept again if the cap had paused us.
    void resume() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            if (self->paused_ && !self->stopped_ &&
                self->server_.connections() < self->server_.config().max_connections) {
                self->paused_ = false;
                self->last_at_limit_ = Clock::now();
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
        if (server_.connections() >= server_.config().max_connections) return pause();
        do_accept();
    }

    // At the cap: one warning per episode (the cap reached, perhaps many times, until it has
    // not been for kLimitQuiet), and one line when it is over.
    void pause() {
        paused_ = true;
        server_.metrics().count(TransportEvent::kConnectionLimitReached);
        last_at_limit_ = Clock::now();
        ++limit_hits_;
        if (at_limit_) return;
        at_limit_ = true;
        limit_since_ = last_at_limit_;
        server_.logger().warn("connection limit reached, not accepting for now",
                              {{"max_connections", server_.config().max_connections}});
        watch_limit();
    }

    void watch_limit() {
        limit_timer_.expires_at(last_at_limit_ + kLimitQuiet);
        limit_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->stopped_) return;
            if (self->paused_ || Clock::now() < self->last_at_limit_ + kLimitQuiet) {
                if (self->paused_) self->last_at_limit_ = Clock::now();
                return self->watch_limit();
            }
            self->at_limit_ = false;
            const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
                self->last_at_limit_ - self->limit_since_);
            self->server_.logger().info(
                "connection limit no longer reached",
                {{"times_reached", static_cast<std::size_t>(self->limit_hits_)},
                 {"lasted_ms", static_cast<std::int64_t>(lasted.count())}});
            self->limit_hits_ = 0;
        });
    }

    Server& server_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    net::steady_timer limit_timer_;
    Clock::time_point limit_since_;
    Clock::time_point last_at_limit_;
    std::uint64_t limit_hits_ = 0;
    bool paused_ = false;
    bool stopped_ = false;
    bool at_limit_ = false;
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
    if (closed_since_trim_.fetch_add(1, std::memory_order_relaxed) + 1 >= kTrimAfterCloses) {
        closed_since_trim_.store(0, std::memory_order_relaxed);
        request_trim();
    }
}

// glibc keeps freed memory in its arenas: after many connections or a large body went, give
// it back. On the reloader's thread, never an I/O thread (it walks every arena).
void Server::housekeeping() {
    if (trim_requested_.exchange(false, std::memory_order_relaxed)) malloc_trim(0);
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

// The listener closes first; only then do responses say Connection: close, so that a client
// that reconnects is refused rather than accepted and then cut.
void Server::begin_close() {
    if (close_started_.exchange(true)) return;
    listener_->stop([this] { on_listener_closed(); });
}

void Server::on_listener_closed() {
    closing_.store(true, std::memory_order_release);
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
    reloader_.set_housekeeping([this] { housekeeping(); });
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
    // Requests still waiting for the body budget go while their io_context is still there.
    budget_.drop_waiters();
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
