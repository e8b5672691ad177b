// seccomp-gate: one binary for the webhook server and the offline tools.

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "policy/policy_config.h"
#include "webhook/serve_command.h"

namespace {

constexpr const char* kUsage =
    R"(seccomp-gate: keeps every Kubernetes container under a real seccomp filter

usage: seccomp-gate <command> [options]

commands:
  serve    the admission webhook: HTTPS /validate, /mutate, /healthz, /readyz, /metrics
  review   judge one AdmissionReview offline and print the response the webhook would send
  audit    dry-run policy audit of manifest files, directories or stdin
  profile  lint, try or record seccomp profiles (profile lint|try|record)
  sync-profiles
           the node side: installs the catalog into <kubelet-root>/seccomp/<prefix>/

Run `seccomp-gate <command> --help` for the options of a command.
)";

}  // namespace

int main(int argc, char** argv) {
    using namespace seccomp_gate;
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? cli::kExitBadInput : cli::kExitOk;
    }
    const std::string& command = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (command == "serve") return webhook::serve_command(rest);
        if (command == "review") return cli::review_command(rest);
        if (command == "audit") return cli::audit_command(rest);
        if (command == "profile") return cli::profile_command(rest);
        if (command == "sync-profiles") return cli::sync_profiles_command(rest);
        std::cerr << "seccomp-gate: unknown command \"" << command
                  << "\" (see seccomp-gate --help)\n";
        return cli::kExitBadInput;
    } catch (const cli::UsageError& error) {
        std::cerr << "seccomp-gate " << command << ": " << error.what() << " (see seccomp-gate "
                  << command << " --help)\n";
    } catch (const ConfigError& error) {
        std::cerr << "seccomp-gate " << command << ": " << error.what() << "\n";
    } catch (const std::exception& error) {
        std::cerr << "seccomp-gate " << command << ": " << error.what() << "\n";
    }
    return cli::kExitBadInput;
}
