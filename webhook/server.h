#pragma once
// The HTTPS server of `seccomp-gate serve`. Beast and Asio live in server.cpp only.

#include "webhook/config.h"

namespace seccomp_gate::webhook {

// Loads the policy, catalog and TLS material, serves until SIGTERM or SIGINT and the graceful
// shutdown that follows, and returns the exit code. Throws ConfigError (or std::system_error
// for the listening socket) when start-up fails.
int run_server(const ServeConfig& config);

}  // namespace seccomp_gate::webhook
