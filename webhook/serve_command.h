#pragma once
// `seccomp-gate serve`: the command line of the webhook server.

#include <string>
#include <string_view>
#include <vector>

#include "webhook/config.h"

namespace seccomp_gate::webhook {

// Parses the options of `serve` (throws cli::UsageError), runs the server, returns the exit code.
int serve_command(const std::vector<std::string>& argv);

// "120s", "500ms", "2m", "1.5" (seconds). Throws cli::UsageError naming the option.
Duration parse_duration(std::string_view option, std::string_view text);
// "7340032", "64Ki", "7Mi", "1Gi". Throws cli::UsageError naming the option.
std::size_t parse_size(std::string_view option, std::string_view text);

ServeConfig parse_serve_args(const std::vector<std::string>& argv, bool& help);

}  // namespace seccomp_gate::webhook
