#include "policy/snapshot.h"

namespace seccomp_gate {

SnapshotPtr make_snapshot(PolicyConfig policy, CatalogSnapshot catalog, std::string_view source) {
    if (policy.default_profile && policy.default_profile->type == ProfileType::kLocalhost) {
        const std::string& wanted = policy.default_profile->localhost_profile;
        const std::string key =
            std::string(source) + ": defaultProfile.localhostProfile: \"" + wanted + "\" ";
        const LocalhostResolution resolved = resolve_localhost(catalog, wanted);
        switch (resolved.status) {
            case LocalhostResolution::Status::kFound:
                break;
            case LocalhostResolution::Status::kNotInCatalog:
                throw ConfigError(key + "is not in the catalog (" +
                                  std::to_string(catalog.profiles().size()) + " profiles loaded)");
            default:
                throw ConfigError(key + "must be a relative path without \"..\"");
        }
        // A policy must not refuse what it mutates in (SPEC section 3).
        if (resolved.profile->permissive && policy.permissive_profiles == Action::kDeny) {
            throw ConfigError(key + "is permissive (defaultAction " +
                              resolved.profile->default_action +
                              ") and permissiveProfiles is deny: every pod it is mutated into "
                              "would be denied");
        }
        policy.default_profile->localhost_profile = resolved.name;
    }
    return std::make_shared<const Snapshot>(Snapshot{std::move(policy), std::move(catalog)});
}

}  // namespace seccomp_gate
