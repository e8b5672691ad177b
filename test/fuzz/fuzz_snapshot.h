#pragma once
// The snapshot the review fuzz targets judge against: every rule, mode and mutation reachable.

#include "policy/catalog.h"
#include "policy/policy_config.h"
#include "policy/snapshot.h"

namespace seccomp_gate::fuzz {

inline const seccomp_gate::Snapshot& fuzz_snapshot() {
    static const seccomp_gate::SnapshotPtr kSnapshot = [] {
        auto policy = seccomp_gate::parse_policy(R"(apiVersion: seccomp-gate/v1
kind: Policy
defaultProfile: {type: Localhost, localhostProfile: profiles/default.json}
mutateTemplates: true
privileged: deny
exemptions: {namespaces: [kube-system], usernames: [admin]}
overrides: [{namespaces: [legacy], mode: warn}, {namespaces: [quiet], mode: audit}]
)",
                                                 "fuzz-policy.yaml");
        auto catalog = seccomp_gate::build_catalog(
            "", {{"profiles/default.json", R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""},
                 {"profiles/audit.json", R"({"defaultAction":"SCMP_ACT_LOG"})", ""}});
        return seccomp_gate::make_snapshot(std::move(policy), std::move(catalog), "fuzz");
    }();
    return *kSnapshot;
}

}  // namespace seccomp_gate::fuzz
