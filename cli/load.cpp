#include "cli/load.h"

#include <iostream>

#include "policy/io/files.h"

namespace seccomp_gate::cli {

SnapshotPtr load_policy(const std::string& command, const std::string& policy_file) {
    SnapshotPtr snapshot = io::load_snapshot(policy_file);
    for (const auto& rejected : snapshot->catalog.rejected()) {
        std::cerr << "seccomp-gate " << command << ": warning: catalog file " << rejected.file
                  << " left out of the catalog: " << rejected.reason << "\n";
    }
    return snapshot;
}

}  // namespace seccomp_gate::cli
