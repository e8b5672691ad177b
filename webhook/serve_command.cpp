#include "webhook/serve_command.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>

#include "cli/args.h"
#include "webhook/server.h"

namespace seccomp_gate::webhook {
namespace {

using cli::UsageError;

constexpr const char* kHelp =
    R"(usage: seccomp-gate serve --policy FILE --tls-cert FILE --tls-key FILE [options]

The admission webhook: HTTPS on POST /validate and POST /mutate (AdmissionReview v1 and
v1beta1), GET /healthz, /readyz and /metrics. It answers exactly what `seccomp-gate review`
prints for the same request. The certificate, the key, the client CA, the policy file and
the catalog directory are reloaded when they change (symlink swaps included); a broken new
file keeps the last good state. SIGTERM: /readyz fails at once, requests are served for
--shutdown-delay, then the server stops accepting and finishes what is in flight.

options:
  --policy FILE             the policy file (its catalog is read relative to it)
  --tls-cert FILE           PEM certificate chain, leaf first (ECDSA or RSA key)
  --tls-key FILE            PEM private key
  --listen HOST:PORT        address to listen on (default 0.0.0.0:8443; port 0: any free port)
  --client-ca FILE          require client certificates signed by a CA in FILE
  --threads N               threads serving requests (default: the CPUs available)
  --body-limit SIZE         largest request body, e.g. 7Mi (default 7Mi)
  --body-budget SIZE        request bodies in flight over all connections, at least the body
                            limit (default 16Mi); a request that finds no room waits up to 2s,
                            then gets 503
  --max-connections N       connections served at once; more wait to be accepted (default 1000)
  --idle-timeout DURATION   keep-alive connection idle time (default 120s)
  --handshake-timeout DURATION   TLS handshake time (default 10s; a client that has not
                            started TLS within a fifth of it, 2s, is closed)
  --read-timeout DURATION   time to read a request header, and again its body (default 10s)
  --write-timeout DURATION  time to write a response (default 10s)
  --shutdown-delay DURATION after SIGTERM, keep serving this long (default 5s)
  --shutdown-grace DURATION then let in-flight requests finish this long (default 20s)
  --reload-interval DURATION how often the files are checked for changes (default 1s)
  --log-level LEVEL         debug, info, warn or error (default info): one line per request at info

DURATION: 500ms, 10s, 2m, or a number of seconds.  SIZE: bytes, or with Ki, Mi, Gi.
exit: 0 after a graceful shutdown, 2 when it cannot start (bad flag, policy, certificate, port)
)";

void parse_listen(const std::string& text, ServeConfig& config) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) throw UsageError("--listen must be HOST:PORT, got " + text);
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) host = "0.0.0.0";
    const std::string port = text.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
        throw UsageError("--listen: bad port in " + text);
    }
    config.listen_host = host;
    config.listen_port = static_cast<unsigned short>(value);
}

std::size_t parse_count(std::string_view option, const std::string& text) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0) {
        throw UsageError("--" + std::string(option) + " must be a positive integer, got " + text);
    }
    return value;
}

}  // namespace

Duration parse_duration(std::string_view option, std::string_view text) {
    const auto bad = [&] {
        return UsageError("--" + std::string(option) +
                          " must be a duration like 500ms, 10s or 2m, got \"" + std::string(text) +
                          "\"");
    };
    std::size_t digits = 0;
    while (digits < text.size() &&
           ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
        ++digits;
    }
    if (digits == 0) throw bad();
    const std::string number(text.substr(0, digits));
    const std::string_view unit = text.substr(digits);
    double value = 0;
    try {
        std::size_t used = 0;
        value = std::stod(number, &used);
        if (used != number.size()) throw bad();
    } catch (const std::logic_error&) {
        throw bad();
    }
    double millis = 0;
    if (unit.empty() || unit == "s") {
        millis = value * 1000;
    } else if (unit == "ms") {
        millis = value;
    } else if (unit == "m") {
        millis = value * 60'000;
    } else if (unit == "h") {
        millis = value * 3'600'000;
    } else {
        throw bad();
    }
    if (!std::isfinite(millis) || millis > 1e12) throw bad();
    return Duration(static_cast<Duration::rep>(std::llround(millis)));
}

std::size_t parse_size(std::string_view option, std::string_view text) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
    std::size_t multiplier = 1;
    if (unit == "Ki" || unit == "KiB") {
        multiplier = std::size_t{1} << 10U;
    } else if (unit == "Mi" || unit == "MiB") {
        multiplier = std::size_t{1} << 20U;
    } else if (unit == "Gi" || unit == "GiB") {
        multiplier = std::size_t{1} << 30U;
    } else if (!unit.empty() && unit != "B") {
        value = 0;
    }
    if (ec != std::errc() || value == 0 ||
        value > std::numeric_limits<std::size_t>::max() / multiplier) {
        throw UsageError("--" + std::string(option) + " must be a size like 7Mi or 65536, got \"" +
                         std::string(text) + "\"");
    }
    return value * multiplier;
}

ServeConfig parse_serve_args(const std::vector<std::string>& argv, bool& help) {
    const cli::Args args = cli::parse_args(
        argv,
        {"policy", "tls-cert", "tls-key", "listen", "client-ca", "threads", "body-limit",
         "body-budget", "max-connections", "idle-timeout", "handshake-timeout", "read-timeout",
         "write-timeout", "shutdown-delay", "shutdown-grace", "reload-interval", "log-level"},
        {});
    help = args.help;
    ServeConfig config;
    if (help) return config;
    if (!args.positionals.empty()) throw UsageError("takes no positional arguments");
    config.policy_file = args.required("policy");
    config.tls_cert = args.required("tls-cert");
    config.tls_key = args.required("tls-key");
    if (auto value = args.value("client-ca")) config.client_ca = *value;
    if (auto value = args.value("listen")) parse_listen(*value, config);
    if (auto value = args.value("threads")) {
        config.threads =
            static_cast<unsigned>(std::min<std::size_t>(parse_count("threads", *value), 1024));
    }
    if (auto value = args.value("body-limit")) config.body_limit = parse_size("body-limit", *value);
    if (auto value = args.value("body-budget")) {
        config.body_budget = parse_size("body-budget", *value);
        if (config.body_budget < config.body_limit) {
            throw UsageError("--body-budget must be at least --body-limit (" +
                             std::to_string(config.body_limit) + " bytes)");
        }
    } else {
        config.body_budget = std::max(config.body_budget, config.body_limit);
    }
    if (auto value = args.value("max-connections")) {
        config.max_connections = parse_count("max-connections", *value);
    }
    const auto duration = [&](const char* name, Duration& target) {
        if (auto value = args.value(name)) target = parse_duration(name, *value);
    };
    duration("idle-timeout", config.idle_timeout);
    duration("handshake-timeout", config.handshake_timeout);
    duration("read-timeout", config.read_timeout);
    duration("write-timeout", config.write_timeout);
    duration("shutdown-delay", config.shutdown_delay);
    duration("shutdown-grace", config.shutdown_grace);
    duration("reload-interval", config.reload_interval);
    if (config.reload_interval < Duration(10)) config.reload_interval = Duration(10);
    if (auto value = args.value("log-level")) {
        const auto level = parse_log_level(*value);
        if (!level) throw UsageError("--log-level must be debug, info, warn or error");
        config.log_level = *level;
    }
    return config;
}

int serve_command(const std::vector<std::string>& argv) {
    bool help = false;
    const ServeConfig config = parse_serve_args(argv, help);
    if (help) {
        std::cout << kHelp;
        return 0;
    }
    return run_server(config);
}

}  // namespace seccomp_gate::webhook
