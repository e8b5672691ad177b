#include "webhook/metrics.h"

#include <cstdio>

namespace seccomp_gate::webhook {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void append_number(std::string& out, double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", value);
    out += text;
}

void append_help(std::string& out, std::string_view name, std::string_view type,
                 std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

std::string_view to_string(AdmissionEndpoint endpoint) {
    return endpoint == AdmissionEndpoint::kMutate ? "mutate" : "validate";
}

std::string_view to_string(VerdictLabel verdict) {
    switch (verdict) {
        case VerdictLabel::kAllowed:
            return "allowed";
        case VerdictLabel::kDenied:
            return "denied";
        case VerdictLabel::kInvalid:
            return "invalid";
        case VerdictLabel::kNotJson:
            return "not_json";
        case VerdictLabel::kError:
            return "error";
        case VerdictLabel::kRejected:
            break;
    }
    return "rejected";
}

std::string_view to_string(ReloadTarget what) {
    switch (what) {
        case ReloadTarget::kTls:
            return "tls";
        case ReloadTarget::kPolicy:
            return "policy";
        case ReloadTarget::kCatalog:
            break;
    }
    return "catalog";
}

void Metrics::observe_request(AdmissionEndpoint endpoint, VerdictLabel verdict,
                              std::chrono::nanoseconds duration) {
    const auto e = static_cast<std::size_t>(endpoint);
    requests_[e][static_cast<std::size_t>(verdict)].fetch_add(1, kRelaxed);
    const double seconds = std::chrono::duration<double>(duration).count();
    std::size_t bucket = 0;
    while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;
    buckets_[e][bucket].fetch_add(1, kRelaxed);
    duration_sum_ns_[e].fetch_add(static_cast<std::uint64_t>(duration.count()), kRelaxed);
}

void Metrics::count_http_status(unsigned status) {
    if (status < kStatusSlots) http_status_[status].fetch_add(1, kRelaxed);
}

void Metrics::reloaded(ReloadTarget what) {
    reloads_[static_cast<std::size_t>(what)].fetch_add(1, kRelaxed);
}

void Metrics::reload_failed(ReloadTarget what) {
    reload_errors_[static_cast<std::size_t>(what)].fetch_add(1, kRelaxed);
}

void Metrics::set_catalog(std::size_t profiles, std::size_t rejected) {
    catalog_profiles_.store(profiles, kRelaxed);
    catalog_rejected_.store(rejected, kRelaxed);
}

std::string Metrics::render() const {
    std::string out;
    out.reserve(8192);

    append_help(out, "seccomp_gate_requests_total", "counter",
                "Admission requests answered, by endpoint and verdict.");
    for (std::size_t e = 0; e < kAdmissionEndpoints; ++e) {
        for (std::size_t v = 0; v < kVerdictLabels; ++v) {
            out.append("seccomp_gate_requests_total{endpoint=\"")
                .append(to_string(static_cast<AdmissionEndpoint>(e)))
                .append("\",verdict=\"")
                .append(to_string(static_cast<VerdictLabel>(v)))
                .append("\"} ")
                .append(std::to_string(requests_[e][v].load(kRelaxed)))
                .append("\n");
        }
    }

    append_help(out, "seccomp_gate_request_duration_seconds", "histogram",
                "Admission request latency, from the first byte read to the response written.");
    for (std::size_t e = 0; e < kAdmissionEndpoints; ++e) {
        const std::string_view endpoint = to_string(static_cast<AdmissionEndpoint>(e));
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= kDurationBuckets.size(); ++b) {
            cumulative += buckets_[e][b].load(kRelaxed);
            out.append("seccomp_gate_request_duration_seconds_bucket{endpoint=\"")
                .append(endpoint)
                .append("\",le=\"");
            if (b < kDurationBuckets.size()) {
                append_number(out, kDurationBuckets[b]);
            } else {
                out += "+Inf";
            }
            out.append("\"} ").append(std::to_string(cumulative)).append("\n");
        }
        out.append("seccomp_gate_request_duration_seconds_sum{endpoint=\"")
            .append(endpoint)
            .append("\"} ");
        append_number(out, static_cast<double>(duration_sum_ns_[e].load(kRelaxed)) / 1e9);
        out.append("\nseccomp_gate_request_duration_seconds_count{endpoint=\"")
            .append(endpoint)
            .append("\"} ")
            .append(std::to_string(cumulative))
            .append("\n");
    }

    append_help(out, "seccomp_gate_http_responses_total", "counter",
                "HTTP responses on every route, by status code.");
    for (std::size_t status = 0; status < kStatusSlots; ++status) {
        const std::uint64_t count = http_status_[status].load(kRelaxed);
        if (count == 0) continue;
        out.append("seccomp_gate_http_responses_total{code=\"")
            .append(std::to_string(status))
            .append("\"} ")
            .append(std::to_string(count))
            .append("\n");
    }

    append_help(out, "seccomp_gate_requests_in_flight", "gauge",
                "Requests read and not yet answered.");
    out.append("seccomp_gate_requests_in_flight ")
        .append(std::to_string(in_flight_.load(kRelaxed)))
        .append("\n");
    append_help(out, "seccomp_gate_connections", "gauge", "Open client connections.");
    out.append("seccomp_gate_connections ")
        .append(std::to_string(connections_.load(kRelaxed)))
        .append("\n");
    append_help(out, "seccomp_gate_tls_handshake_errors_total", "counter",
                "TLS handshakes that failed or timed out.");
    out.append("seccomp_gate_tls_handshake_errors_total ")
        .append(std::to_string(tls_handshake_errors_.load(kRelaxed)))
        .append("\n");

    const auto event = [&](TransportEvent e) {
        return std::to_string(transport_events_[static_cast<std::size_t>(e)].load(kRelaxed));
    };
    append_help(out, "seccomp_gate_request_timeouts_total", "counter",
                "Requests whose header or body did not arrive in time (answered 408).");
    out.append("seccomp_gate_request_timeouts_total{stage=\"header\"} ")
        .append(event(TransportEvent::kHeaderTimeout))
        .append("\nseccomp_gate_request_timeouts_total{stage=\"body\"} ")
        .append(event(TransportEvent::kBodyTimeout))
        .append("\n");
    append_help(out, "seccomp_gate_body_bytes_in_flight", "gauge",
                "Request body bytes being read or held until answered (the request body budget).");
    out.append("seccomp_gate_body_bytes_in_flight ")
        .append(std::to_string(body_bytes_in_flight_.load(kRelaxed)))
        .append("\n");
    append_help(out, "seccomp_gate_body_budget_waits_total", "counter",
                "Requests that waited for room in the request body budget.");
    out.append("seccomp_gate_body_budget_waits_total ")
        .append(event(TransportEvent::kBodyBudgetWait))
        .append("\n");
    append_help(out, "seccomp_gate_body_budget_refusals_total", "counter",
                "Requests refused (503) because the request body budget stayed full.");
    out.append("seccomp_gate_body_budget_refusals_total ")
        .append(event(TransportEvent::kBodyBudgetRefusal))
        .append("\n");
    append_help(out, "seccomp_gate_connection_limit_reached_total", "counter",
                "Times accepting paused because --max-connections connections were open.");
    out.append("seccomp_gate_connection_limit_reached_total ")
        .append(event(TransportEvent::kConnectionLimitReached))
        .append("\n");

    append_help(out, "seccomp_gate_catalog_profiles", "gauge", "Profiles in the catalog in force.");
    out.append("seccomp_gate_catalog_profiles ")
        .append(std::to_string(catalog_profiles_.load(kRelaxed)))
        .append("\n");
    append_help(out, "seccomp_gate_catalog_rejected_profiles", "gauge",
                "Catalog files left out of the catalog in force (not JSON, not a valid profile).");
    out.append("seccomp_gate_catalog_rejected_profiles ")
        .append(std::to_string(catalog_rejected_.load(kRelaxed)))
        .append("\n");

    append_help(out, "seccomp_gate_reloads_total", "counter",
                "Successful reloads of the TLS material, the policy and the catalog.");
    for (std::size_t w = 0; w < kReloadTargets; ++w) {
        out.append("seccomp_gate_reloads_total{what=\"")
            .append(to_string(static_cast<ReloadTarget>(w)))
            .append("\"} ")
            .append(std::to_string(reloads_[w].load(kRelaxed)))
            .append("\n");
    }
    append_help(out, "seccomp_gate_reload_errors_total", "counter",
                "Reloads that failed; the last good state stayed in force.");
    for (std::size_t w = 0; w < kReloadTargets; ++w) {
        out.append("seccomp_gate_reload_errors_total{what=\"")
            .append(to_string(static_cast<ReloadTarget>(w)))
            .append("\"} ")
            .append(std::to_string(reload_errors_[w].load(kRelaxed)))
            .append("\n");
    }
    return out;
}

}  // namespace seccomp_gate::webhook
