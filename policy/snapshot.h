#pragma once
// Everything a decision depends on besides the request: loaded once, never modified, shared by
// pointer and swapped whole on reload.

#include <memory>
#include <string>

#include "policy/catalog.h"
#include "policy/policy_config.h"

namespace seccomp_gate {

struct Snapshot {
    PolicyConfig policy;
    CatalogSnapshot catalog;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Checks what needs both halves (a Localhost defaultProfile must be in the catalog) and
// throws ConfigError naming `source` and the key.
SnapshotPtr make_snapshot(PolicyConfig policy, CatalogSnapshot catalog, std::string_view source);

}  // namespace seccomp_gate
