#pragma once
// Routing and answering, without any transport: the session (server.cpp) hands over the request
// line, the Content-Type and the body, and writes back the Reply. SPEC section 2.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "policy/admission.h"
#include "webhook/logging.h"
#include "webhook/metrics.h"
#include "webhook/server_state.h"

namespace seccomp_gate::webhook {

enum class Route { kValidate, kMutate, kHealthz, kReadyz, kMetrics, kUnknown };

// The route of a request target; the query string is ignored (the API server appends
// `?timeout=10s`).
Route route_for(std::string_view target);

// True for `application/json`, with any parameters (`; charset=utf-8`), in any case.
bool is_json_content_type(std::string_view content_type);

struct Reply {
    unsigned status = 200;
    std::string_view content_type = "application/json";
    std::string body;
    std::string_view allow;  // the Allow header of a 405
};

// What one request was about, for the request log line and the metrics.
struct Exchange {
    Route route = Route::kUnknown;
    std::string_view method;
    unsigned status = 0;
    VerdictLabel verdict = VerdictLabel::kRejected;
    ReviewOutcome outcome;  // admission routes with a reviewed body only
};

class Router {
  public:
    Router(ServerState& state, Metrics& metrics, const Logger& logger)
        : state_(state), metrics_(metrics), logger_(logger) {}

    // The checks that need only the request head (404, 405, 415). nullopt: read the body and
    // call handle().
    std::optional<Reply> check_head(Route route, std::string_view method,
                                    std::string_view content_type, Exchange& exchange) const;

    // Answers a request whose head passed check_head. Never throws: any failure is a 500.
    Reply handle(Route route, std::string_view body, Exchange& exchange) const noexcept;

    // A transport-level refusal (413 body too large, 400 malformed HTTP).
    static Reply refuse(unsigned status, std::string_view message, Exchange& exchange);

    // Once the reply is written (or could not be): metrics and the request log line.
    void finish(const Exchange& exchange, std::chrono::nanoseconds latency) const noexcept;

  private:
    Reply review_body(Endpoint endpoint, std::string_view body, Exchange& exchange) const;

    ServerState& state_;
    Metrics& metrics_;
    const Logger& logger_;
};

}  // namespace seccomp_gate::webhook
