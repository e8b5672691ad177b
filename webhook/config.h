#pragma once
// Everything `seccomp-gate serve` is told on its command line, already parsed and checked.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

#include "webhook/logging.h"

namespace seccomp_gate::webhook {

using Duration = std::chrono::milliseconds;

struct ServeConfig {
    std::filesystem::path policy_file;
    std::filesystem::path tls_cert;
    std::filesystem::path tls_key;
    std::filesystem::path client_ca;  // empty: no client-certificate verification
    std::string listen_host = "0.0.0.0";
    unsigned short listen_port = 8443;
    unsigned threads = 0;  // 0: the CPUs available to the process

    std::size_t body_limit = 7U << 20U;  // 7 MiB, SPEC section 2
    // Sized for the Deployment's 256 Mi limit with 2 threads: ~76 KiB per idle TLS connection,
    // beside the body budget and two parses (webhook/README.md, "Bounds").
    std::size_t max_connections = 1000;
    // Request bodies being read or held until answered, over all connections (at least
    // body_limit): see webhook/body_budget.h. Two bodies at the limit.
    std::size_t body_budget = 16U << 20U;

    // The API server keeps idle connections for 90 s: ours must outlive that.
    Duration idle_timeout{120'000};
    Duration handshake_timeout{10'000};
    Duration read_timeout{10'000};  // each of: the request header, the request body
    Duration write_timeout{10'000};

    Duration shutdown_delay{5'000};   // after SIGTERM: /readyz fails, requests still served
    Duration shutdown_grace{20'000};  // then: in-flight requests get this long to finish
    Duration reload_interval{1'000};  // how often certificate, policy and catalog are checked

    LogLevel log_level = LogLevel::kInfo;
};

}  // namespace seccomp_gate::webhook
