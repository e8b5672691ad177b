#pragma once
// Helpers shared by the unit tests: building snapshots and reviews from text.

#include <string>
#include <vector>

#include "policy/admission.h"
#include "policy/catalog.h"
#include "policy/policy_config.h"
#include "policy/snapshot.h"

namespace seccomp_gate::testing {

inline std::string source_path(const std::string& relative) {
    return std::string(SECCOMP_GATE_SOURCE_DIR) + "/" + relative;
}

inline constexpr const char* kStrictProfile =
    R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],)"
    R"("syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]})";
inline constexpr const char* kLogProfile =
    R"({"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64"]})";

// A snapshot from policy YAML (apiVersion/kind are added) and a catalog of
// profiles/default.json, profiles/web.json (strict) and profiles/audit.json (SCMP_ACT_LOG).
inline SnapshotPtr make_test_snapshot(const std::string& policy_body = "") {
    const std::string text = "apiVersion: seccomp-gate/v1\nkind: Policy\n" + policy_body;
    PolicyConfig policy = parse_policy(text, "test-policy.yaml");
    std::vector<CatalogFile> files{{"profiles/default.json", kStrictProfile, ""},
                                   {"profiles/web.json", kStrictProfile, ""},
                                   {"profiles/audit.json", kLogProfile, ""}};
    CatalogSnapshot catalog = build_catalog(policy.catalog_prefix, files);
    return make_snapshot(std::move(policy), std::move(catalog), "test-policy.yaml");
}

}  // namespace seccomp_gate::testing
