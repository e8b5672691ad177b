#pragma once
// The subcommands of `seccomp-gate`. Each returns the process exit code.

#include <string>
#include <vector>

namespace seccomp_gate::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // violations found / request denied
inline constexpr int kExitBadInput = 2;  // bad input or usage

int review_command(const std::vector<std::string>& argv);
int audit_command(const std::vector<std::string>& argv);
// `profile lint|try|record`: dispatches to the three below.
int profile_command(const std::vector<std::string>& argv);
int profile_lint_command(const std::vector<std::string>& argv);
int profile_try_command(const std::vector<std::string>& argv);
int profile_record_command(const std::vector<std::string>& argv);
int sync_profiles_command(const std::vector<std::string>& argv);

}  // namespace seccomp_gate::cli
