// The Beast-free parts of the webhook: routing, status codes, metrics text, option parsing and
// the reload fingerprints.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/args.h"
#include "webhook/body_budget.h"
#include "webhook/logging.h"
#include "webhook/metrics.h"
#include "webhook/reloader.h"
#include "webhook/router.h"
#include "webhook/serve_command.h"

namespace seccomp_gate::webhook {
namespace {

namespace fs = std::filesystem;

TEST_CASE("routes ignore the query string and nothing else") {
    CHECK(route_for("/validate") == Route::kValidate);
    CHECK(route_for("/validate?timeout=10s") == Route::kValidate);
    CHECK(route_for("/mutate?timeout=30s&x=1") == Route::kMutate);
    CHECK(route_for("/healthz") == Route::kHealthz);
    CHECK(route_for("/readyz?verbose") == Route::kReadyz);
    CHECK(route_for("/metrics") == Route::kMetrics);
    CHECK(route_for("/validate/") == Route::kUnknown);
    CHECK(route_for("/Validate") == Route::kUnknown);
    CHECK(route_for("") == Route::kUnknown);
    CHECK(route_for("?/validate") == Route::kUnknown);
}

TEST_CASE("Content-Type must be application/json, parameters allowed") {
    CHECK(is_json_content_type("application/json"));
    CHECK(is_json_content_type("application/json; charset=utf-8"));
    CHECK(is_json_content_type("Application/JSON"));
    CHECK(is_json_content_type(" application/json ;charset=utf-8"));
    CHECK_FALSE(is_json_content_type(""));
    CHECK_FALSE(is_json_content_type("application/jsonx"));
    CHECK_FALSE(is_json_content_type("text/json"));
    CHECK_FALSE(is_json_content_type("application/yaml"));
}

TEST_CASE("the head decides 404, 405 and 415 before the body is read") {
    ServerState state;
    Metrics metrics;
    const Logger logger(LogLevel::kError);
    const Router router(state, metrics, logger);
    const struct {
        Route route;
        std::string_view method;
        std::string_view content_type;
        unsigned status;  // 0: read the body
        std::string_view allow;
    } cases[] = {
        {Route::kUnknown, "GET", "", 404, ""},
        {Route::kUnknown, "POST", "application/json", 404, ""},
        {Route::kValidate, "GET", "application/json", 405, "POST"},
        {Route::kMutate, "PUT", "application/json", 405, "POST"},
        {Route::kHealthz, "POST", "", 405, "GET"},
        {Route::kMetrics, "DELETE", "", 405, "GET"},
        {Route::kValidate, "POST", "text/plain", 415, ""},
        {Route::kMutate, "POST", "", 415, ""},
        {Route::kValidate, "POST", "application/json", 0, ""},
        {Route::kReadyz, "GET", "", 0, ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.method);
        CAPTURE(c.status);
        Exchange exchange;
        const auto reply = router.check_head(c.route, c.method, c.content_type, exchange);
        if (c.status == 0) {
            CHECK_FALSE(reply.has_value());
            continue;
        }
        REQUIRE(reply.has_value());
        CHECK(reply->status == c.status);
        CHECK(exchange.status == c.status);
        CHECK(reply->allow == c.allow);
        CHECK_FALSE(reply->body.empty());
    }
}

TEST_CASE("readiness needs the snapshot and the certificate, and fails when draining") {
    ServerState state;
    Metrics metrics;
    const Logger logger(LogLevel::kError);
    const Router router(state, metrics, logger);
    Exchange exchange;
    CHECK(router.handle(Route::kReadyz, "", exchange).status == 503);
    state.set_tls_loaded();
    CHECK(router.handle(Route::kReadyz, "", exchange).status == 503);
    state.set_snapshot(std::make_shared<const Snapshot>());
    CHECK(router.handle(Route::kReadyz, "", exchange).status == 200);
    state.start_draining();
    CHECK(router.handle(Route::kReadyz, "", exchange).status == 503);
    CHECK(router.handle(Route::kHealthz, "", exchange).status == 200);
}

TEST_CASE("an admission request with no snapshot is answered, not crashed on") {
    ServerState state;
    Metrics metrics;
    const Logger logger(LogLevel::kError);
    const Router router(state, metrics, logger);
    Exchange exchange;
    const Reply reply = router.handle(Route::kValidate, "{}", exchange);
    CHECK(reply.status == 503);
    CHECK(exchange.verdict == VerdictLabel::kError);
}

TEST_CASE("metrics text: counters, cumulative histogram buckets up to 30 s") {
    Metrics metrics;
    metrics.observe_request(AdmissionEndpoint::kValidate, VerdictLabel::kDenied,
                            std::chrono::microseconds(300));
    metrics.observe_request(AdmissionEndpoint::kValidate, VerdictLabel::kAllowed,
                            std::chrono::milliseconds(3));
    metrics.observe_request(AdmissionEndpoint::kMutate, VerdictLabel::kAllowed,
                            std::chrono::seconds(40));
    metrics.reload_failed(ReloadTarget::kCatalog);
    metrics.set_catalog(7, 2);
    metrics.count_http_status(413);
    const std::string text = metrics.render();
    const auto has = [&](const std::string& line) {
        CAPTURE(line);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has(R"(seccomp_gate_requests_total{endpoint="validate",verdict="denied"} 1)");
    has(R"(seccomp_gate_requests_total{endpoint="validate",verdict="allowed"} 1)");
    has(R"(seccomp_gate_requests_total{endpoint="mutate",verdict="rejected"} 0)");
    has(R"(seccomp_gate_request_duration_seconds_bucket{endpoint="validate",le="0.0005"} 1)");
    has(R"(seccomp_gate_request_duration_seconds_bucket{endpoint="validate",le="0.0025"} 1)");
    has(R"(seccomp_gate_request_duration_seconds_bucket{endpoint="validate",le="0.005"} 2)");
    has(R"(seccomp_gate_request_duration_seconds_bucket{endpoint="validate",le="30"} 2)");
    has(R"(seccomp_gate_request_duration_seconds_bucket{endpoint="mutate",le="30"} 0)");
    has(R"(seccomp_gate_request_duration_seconds_bucket{endpoint="mutate",le="+Inf"} 1)");
    has(R"(seccomp_gate_request_duration_seconds_count{endpoint="validate"} 2)");
    has(R"(seccomp_gate_http_responses_total{code="413"} 1)");
    has(R"(seccomp_gate_reload_errors_total{what="catalog"} 1)");
    has(R"(seccomp_gate_reloads_total{what="tls"} 0)");
    has("seccomp_gate_catalog_profiles 7");
    has("seccomp_gate_catalog_rejected_profiles 2");
    has("# TYPE seccomp_gate_request_duration_seconds histogram");
}

// What a pipe holds right now, without waiting.
std::string drain(int fd) {
    std::string text;
    char chunk[4096];
    for (;;) {
        const ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got <= 0) return text;
        text.append(chunk, static_cast<std::size_t>(got));
    }
}

TEST_CASE("a buffered logger holds info lines until a flush, never warnings") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    {
        const Logger logger(LogLevel::kInfo, fds[1], Logger::Buffering::kBuffered);
        logger.info("first", {{"n", 1}});
        logger.debug("below the level");
        CHECK(drain(fds[0]).empty());
        logger.flush();
        const std::string flushed = drain(fds[0]);
        CHECK(flushed.find(R"("msg":"first","n":1})") != std::string::npos);
        CHECK(flushed.find("below the level") == std::string::npos);

        logger.info("second");
        logger.warn("third", {{"why", "quote \" and newline \n"}});
        const std::string both = drain(fds[0]);  // the warning took the info line with it
        const auto second = both.find(R"("msg":"second")");
        const auto third = both.find(R"("msg":"third","why":"quote \" and newline \n")");
        REQUIRE(second != std::string::npos);
        REQUIRE(third != std::string::npos);
        CHECK(second < third);

        logger.info("at exit");
    }  // the destructor flushes
    CHECK(drain(fds[0]).find(R"("msg":"at exit")") != std::string::npos);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("an unbuffered logger writes every line at once") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    const Logger logger(LogLevel::kInfo, fds[1]);
    logger.info("now");
    CHECK(drain(fds[0]).find(R"("level":"info","msg":"now"})") != std::string::npos);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("durations and sizes on the command line") {
    CHECK(parse_duration("t", "120s") == Duration(120'000));
    CHECK(parse_duration("t", "500ms") == Duration(500));
    CHECK(parse_duration("t", "2m") == Duration(120'000));
    CHECK(parse_duration("t", "1.5") == Duration(1'500));
    CHECK(parse_duration("t", "0") == Duration(0));
    CHECK_THROWS_AS(parse_duration("t", ""), cli::UsageError);
    CHECK_THROWS_AS(parse_duration("t", "soon"), cli::UsageError);
    CHECK_THROWS_AS(parse_duration("t", "10 s"), cli::UsageError);
    CHECK_THROWS_AS(parse_duration("t", "1.2.3s"), cli::UsageError);
    CHECK(parse_size("s", "7Mi") == 7U << 20U);
    CHECK(parse_size("s", "64Ki") == 64U << 10U);
    CHECK(parse_size("s", "65536") == 65536);
    CHECK_THROWS_AS(parse_size("s", "0"), cli::UsageError);
    CHECK_THROWS_AS(parse_size("s", "7MB"), cli::UsageError);
    CHECK_THROWS_AS(parse_size("s", "-1"), cli::UsageError);
}

TEST_CASE("serve options") {
    bool help = false;
    const ServeConfig config =
        parse_serve_args({"--policy", "p.yaml", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                          "--listen", "[::1]:9443", "--threads", "3", "--body-limit", "1Mi",
                          "--shutdown-delay", "0", "--log-level", "warn"},
                         help);
    CHECK_FALSE(help);
    CHECK(config.listen_host == "::1");
    CHECK(config.listen_port == 9443);
    CHECK(config.threads == 3);
    CHECK(config.body_limit == 1U << 20U);
    CHECK(config.shutdown_delay == Duration(0));
    CHECK(config.log_level == LogLevel::kWarn);
    CHECK(config.idle_timeout == Duration(120'000));
    CHECK_THROWS_AS(parse_serve_args({"--policy", "p"}, help), cli::UsageError);
    CHECK_THROWS_AS(
        parse_serve_args({"--policy", "p", "--tls-cert", "c", "--tls-key", "k", "--listen", "8443"},
                         help),
        cli::UsageError);
}

TEST_CASE("the body budget: all or nothing, waiters first, woken on release, refusals counted") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    Metrics metrics;
    {
        const Logger logger(LogLevel::kInfo, fds[1]);
        BodyBudget budget(6400, metrics, logger);
        std::uint64_t ticket = 0;
        int woken = 0;
        const auto waiter = [&woken] { ++woken; };
        CHECK(budget.acquire_or_wait(3840, true, waiter, ticket));
        CHECK(budget.in_flight() == 3840);
        CHECK_FALSE(budget.try_acquire(3200));  // all or nothing
        CHECK(budget.try_acquire(2560));
        CHECK_FALSE(budget.acquire_or_wait(640, true, waiter, ticket));  // full: waits
        CHECK(drain(fds[0]).find("request body budget exhausted") != std::string::npos);
        CHECK_FALSE(budget.acquire_or_wait(640, true, waiter, ticket));
        CHECK(drain(fds[0]).empty());  // one warning per episode
        budget.release(2560);
        CHECK(woken == 2);  // both woken; they try again
        CHECK(budget.acquire_or_wait(640, false, waiter, ticket));
        CHECK(budget.in_flight() == 4480);
        CHECK_FALSE(budget.acquire_or_wait(3000, true, waiter, ticket));  // no room: waits
        const std::uint64_t large = ticket;
        // With a request waiting, a small one that fits passes; a larger one queues.
        CHECK(budget.acquire_or_wait(100, true, waiter, ticket));
        CHECK_FALSE(budget.acquire_or_wait(1000, true, waiter, ticket));
        budget.give_up(large);  // their bound passed: refused, counted
        budget.give_up(ticket);
        budget.release(4580);
        CHECK(budget.in_flight() == 0);
        const std::string ended = drain(fds[0]);
        CHECK(ended.find(R"("msg":"request body budget available again","waited":4,"refused":2)") !=
              std::string::npos);
    }
    const std::string text = metrics.render();
    CHECK(text.find("seccomp_gate_body_budget_waits_total 4\n") != std::string::npos);
    CHECK(text.find("seccomp_gate_body_budget_refusals_total 2\n") != std::string::npos);
    CHECK(text.find("seccomp_gate_body_bytes_in_flight 0\n") != std::string::npos);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("the body budget is at least the body limit") {
    bool help = false;
    const auto parse = [&](std::vector<std::string> extra) {
        std::vector<std::string> argv = {"--policy", "p", "--tls-cert", "c", "--tls-key", "k"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return parse_serve_args(argv, help);
    };
    CHECK(parse({}).body_budget >= parse({}).body_limit);
    CHECK(parse({"--body-limit", "64Mi"}).body_budget == 64U << 20U);
    CHECK(parse({"--body-budget", "8Mi"}).body_budget == 8U << 20U);
    CHECK_THROWS_AS(parse({"--body-budget", "1Mi"}), cli::UsageError);
}

TEST_CASE("fingerprints change on a symlink swap and not otherwise") {
    const fs::path root =
        fs::temp_directory_path() / ("seccomp-gate-fingerprint-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "v1" / "profiles");
    fs::create_directories(root / "v2" / "profiles");
    std::ofstream(root / "v1" / "profiles" / "a.json") << "{}";
    std::ofstream(root / "v2" / "profiles" / "a.json") << "{}";
    fs::create_directory_symlink("v1", root / "current");

    const std::string tree = tree_fingerprint(root / "current");
    const std::string file = file_fingerprint(root / "current" / "profiles" / "a.json");
    CHECK(tree_fingerprint(root / "current") == tree);
    CHECK(file_fingerprint(root / "current" / "profiles" / "a.json") == file);

    fs::create_directory_symlink("v2", root / "next");
    fs::rename(root / "next", root / "current");  // the atomic swap of a volume mount
    CHECK(tree_fingerprint(root / "current") != tree);
    CHECK(file_fingerprint(root / "current" / "profiles" / "a.json") != file);
    CHECK(file_fingerprint(root / "missing").rfind("missing:", 0) == 0);
    fs::remove_all(root);
}

}  // namespace
}  // namespace seccomp_gate::webhook
