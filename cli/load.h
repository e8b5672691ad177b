#pragma once

#include <string>

#include "policy/snapshot.h"

namespace seccomp_gate::cli {

// Loads the policy and its catalog, and tells stderr which catalog files were left out and why
// (they are not profiles a Localhost reference can name).
SnapshotPtr load_policy(const std::string& command, const std::string& policy_file);

}  // namespace seccomp_gate::cli
