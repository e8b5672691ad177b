#pragma once
// The Prometheus metrics of `/metrics`. Counters are relaxed atomics: they are written on the
// request path by every thread and only summed when scraped.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace seccomp_gate::webhook {

// The admission endpoints, the label values of `endpoint`.
enum class AdmissionEndpoint : std::size_t { kValidate, kMutate };
inline constexpr std::size_t kAdmissionEndpoints = 2;

// The label values of `verdict`: the four of the policy core plus "error" (HTTP 500, the
// catch-all) and "rejected" (a transport error: 405, 413, 415, a malformed request).
enum class VerdictLabel : std::size_t { kAllowed, kDenied, kInvalid, kNotJson, kError, kRejected };
inline constexpr std::size_t kVerdictLabels = 6;

// The label values of `what` for reloads.
enum class ReloadTarget : std::size_t { kTls, kPolicy, kCatalog };
inline constexpr std::size_t kReloadTargets = 3;

// What the transport counts besides requests: timeouts answered 408, the request body budget,
// the connection cap.
enum class TransportEvent : std::size_t {
    kHeaderTimeout,           // a partial request header not completed in time (408)
    kBodyTimeout,             // a request body not completed in time (408)
    kBodyBudgetWait,          // a request waited for room in the request body budget
    kBodyBudgetRefusal,       // ... and got none in time (503)
    kConnectionLimitReached,  // accepting paused at --max-connections
};
inline constexpr std::size_t kTransportEvents = 5;

// Up to 30 s, the longest timeout the API server allows for a webhook.
inline constexpr std::array<double, 15> kDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

class Metrics {
  public:
    void observe_request(AdmissionEndpoint endpoint, VerdictLabel verdict,
                         std::chrono::nanoseconds duration);
    void count_http_status(unsigned status);

    void request_started() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
    void request_finished() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

    void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
    void tls_handshake_failed() { tls_handshake_errors_.fetch_add(1, std::memory_order_relaxed); }

    void count(TransportEvent event) {
        transport_events_[static_cast<std::size_t>(event)].fetch_add(1, std::memory_order_relaxed);
    }
    void set_body_bytes_in_flight(std::size_t bytes) {
        body_bytes_in_flight_.store(bytes, std::memory_order_relaxed);
    }

    void reloaded(ReloadTarget what);
    void reload_failed(ReloadTarget what);
    void set_catalog(std::size_t profiles, std::size_t rejected);

    std::string render() const;

  private:
    using Counter = std::atomic<std::uint64_t>;
    static constexpr std::size_t kStatusSlots = 600;

    std::array<std::array<Counter, kVerdictLabels>, kAdmissionEndpoints> requests_{};
    std::array<std::array<Counter, kDurationBuckets.size() + 1>, kAdmissionEndpoints> buckets_{};
    std::array<Counter, kAdmissionEndpoints> duration_sum_ns_{};
    std::array<Counter, kStatusSlots> http_status_{};
    std::atomic<std::int64_t> in_flight_{0};
    std::atomic<std::int64_t> connections_{0};
    Counter tls_handshake_errors_{0};
    std::array<Counter, kTransportEvents> transport_events_{};
    Counter body_bytes_in_flight_{0};
    std::array<Counter, kReloadTargets> reloads_{};
    std::array<Counter, kReloadTargets> reload_errors_{};
    Counter catalog_profiles_{0};
    Counter catalog_rejected_{0};
};

std::string_view to_string(AdmissionEndpoint endpoint);
std::string_view to_string(VerdictLabel verdict);
std::string_view to_string(ReloadTarget what);

}  // namespace seccomp_gate::webhook
