#include "webhook/router.h"

#include <cctype>
#include <exception>

namespace seccomp_gate::webhook {
namespace {

bool is_admission(Route route) { return route == Route::kValidate || route == Route::kMutate; }

std::string_view route_name(Route route) {
    switch (route) {
        case Route::kValidate:
            return "validate";
        case Route::kMutate:
            return "mutate";
        case Route::kHealthz:
            return "healthz";
        case Route::kReadyz:
            return "readyz";
        case Route::kMetrics:
            return "metrics";
        case Route::kUnknown:
            break;
    }
    return "unknown";
}

Reply text_reply(unsigned status, std::string body) {
    Reply reply;
    reply.status = status;
    reply.content_type = "text/plain; charset=utf-8";
    reply.body = std::move(body);
    return reply;
}

VerdictLabel label_of(Verdict verdict) {
    switch (verdict) {
        case Verdict::kAllowed:
            return VerdictLabel::kAllowed;
        case Verdict::kDenied:
            return VerdictLabel::kDenied;
        case Verdict::kInvalid:
            return VerdictLabel::kInvalid;
        case Verdict::kNotJson:
            break;
    }
    return VerdictLabel::kNotJson;
}

}  // namespace

Route route_for(std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/validate") return Route::kValidate;
    if (path == "/mutate") return Route::kMutate;
    if (path == "/healthz") return Route::kHealthz;
    if (path == "/readyz") return Route::kReadyz;
    if (path == "/metrics") return Route::kMetrics;
    return Route::kUnknown;
}

bool is_json_content_type(std::string_view content_type) {
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t'))
        media.remove_prefix(1);
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
    constexpr std::string_view kJson = "application/json";
    if (media.size() != kJson.size()) return false;
    for (std::size_t i = 0; i < media.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
    }
    return true;
}

std::optional<Reply> Router::check_head(Route route, std::string_view method,
                                        std::string_view content_type, Exchange& exchange) const {
    exchange.route = route;
    exchange.method = method;
    if (route == Route::kUnknown) {
        exchange.status = 404;
        return text_reply(404, "not found\n");
    }
    const bool admission = is_admission(route);
    const std::string_view allowed = admission ? "POST" : "GET";
    if (method != allowed) {
        exchange.status = 405;
        Reply reply = text_reply(405, "method not allowed: use " + std::string(allowed) + "\n");
        reply.allow = allowed;
        return reply;
    }
    if (admission && !is_json_content_type(content_type)) {
        exchange.status = 415;
        return text_reply(415, "Content-Type must be application/json, got \"" +
                                   std::string(content_type) + "\"\n");
    }
    return std::nullopt;
}

Reply Router::review_body(Endpoint endpoint, std::string_view body, Exchange& exchange) const {
    const SnapshotPtr snapshot = state_.snapshot();
    if (!snapshot) {
        exchange.verdict = VerdictLabel::kError;
        exchange.status = 503;
        return text_reply(503, "policy not loaded\n");
    }
    // Each I/O thread keeps its parse buffers: no allocation per request for the JSON DOM.
    thread_local ReviewScratch scratch;
    exchange.outcome = review(*snapshot, body, endpoint, scratch);
    exchange.verdict = label_of(exchange.outcome.verdict);
    if (exchange.outcome.verdict == Verdict::kNotJson) {
        exchange.status = 400;
        return text_reply(400, exchange.outcome.response);
    }
    exchange.status = 200;
    Reply reply;
    // The response is kept in the exchange for nothing else: hand the bytes over.
    reply.body = std::move(exchange.outcome.response);
    return reply;
}

Reply Router::handle(Route route, std::string_view body, Exchange& exchange) const noexcept {
    try {
        switch (route) {
            case Route::kValidate:
                return review_body(Endpoint::kValidate, body, exchange);
            case Route::kMutate:
                return review_body(Endpoint::kMutate, body, exchange);
            case Route::kHealthz:
                exchange.status = 200;
                return text_reply(200, "ok\n");
            case Route::kReadyz:
                if (state_.ready()) {
                    exchange.status = 200;
                    return text_reply(200, "ok\n");
                }
                exchange.status = 503;
                return text_reply(503, state_.draining() ? "shutting down\n" : "not loaded\n");
            case Route::kMetrics: {
                exchange.status = 200;
                Reply reply = text_reply(200, metrics_.render());
                reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
                return reply;
            }
            case Route::kUnknown:
                break;
        }
        exchange.status = 404;
        return text_reply(404, "not found\n");
    } catch (const std::exception& error) {
        logger_.error("request failed", {{"route", route_name(route)}, {"error", error.what()}});
    } catch (...) {
        logger_.error("request failed", {{"route", route_name(route)}, {"error", "unknown"}});
    }
    exchange.verdict = VerdictLabel::kError;
    exchange.status = 500;
    try {
        return text_reply(500, "internal error\n");
    } catch (...) {
        return Reply{500, "text/plain", {}, {}};
    }
}

Reply Router::refuse(unsigned status, std::string_view message, Exchange& exchange) {
    exchange.status = status;
    exchange.verdict = VerdictLabel::kRejected;
    return text_reply(status, std::string(message) + "\n");
}

void Router::finish(const Exchange& exchange, std::chrono::nanoseconds latency) const noexcept {
    try {
        metrics_.count_http_status(exchange.status);
        const double latency_ms = std::chrono::duration<double, std::milli>(latency).count();
        if (!is_admission(exchange.route)) {
            if (logger_.enabled(LogLevel::kDebug)) {
                logger_.debug("request", {{"route", route_name(exchange.route)},
                                          {"method", exchange.method},
                                          {"status", exchange.status},
                                          {"latency_ms", latency_ms}});
            }
            return;
        }
        const auto endpoint = exchange.route == Route::kMutate ? AdmissionEndpoint::kMutate
                                                               : AdmissionEndpoint::kValidate;
        metrics_.observe_request(endpoint, exchange.verdict, latency);
        if (!logger_.enabled(LogLevel::kInfo)) return;
        const ReviewOutcome& o = exchange.outcome;
        logger_.info("admission", {{"endpoint", to_string(endpoint)},
                                   {"uid", o.uid},
                                   {"kind", o.kind},
                                   {"namespace", o.ns},
                                   {"name", o.name},
                                   {"operation", o.operation},
                                   {"verdict", to_string(exchange.verdict)},
                                   {"reason", o.reason},
                                   {"patched", o.patched},
                                   {"violations", o.violations},
                                   {"warnings", o.warnings},
                                   {"status", exchange.status},
                                   {"latency_ms", latency_ms}});
    } catch (...) {
        // Metrics and logs never take a request down.
    }
}

}  // namespace seccomp_gate::webhook
