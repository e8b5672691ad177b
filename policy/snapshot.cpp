#include "policy/snapshot.h"

namespace seccomp_gate {

SnapshotPtr make_snapshot(PolicyConfig policy, CatalogSnapshot catalog, std::string_view source) {
    if (policy.default_profile && policy.default_profile->type == "Localhost") {
        const std::string& wanted = policy.default_profile->localhost_profile;
        const auto name = clean_profile_path(wanted);
        if (!name) {
            throw ConfigError(std::string(source) + ": defaultProfile.localhostProfile: \"" +
                              wanted + "\" must be a relative path without \"..\"");
        }
        const CatalogProfile* profile = catalog.find(*name);
        if (profile == nullptr) {
            throw ConfigError(std::string(source) + ": defaultProfile.localhostProfile: \"" +
                              wanted + "\" is not in the catalog (" +
                              std::to_string(catalog.profiles().size()) + " profiles loaded)");
        }
        // A policy must not refuse what it mutates in (SPEC section 3).
        if (profile->permissive && policy.permissive_profiles == Action::kDeny) {
            throw ConfigError(std::string(source) + ": defaultProfile.localhostProfile: \"" +
                              wanted + "\" is permissive (defaultAction " +
                              profile->default_action +
                              ") and permissiveProfiles is deny: every pod it is mutated into "
                              "would be denied");
        }
        policy.default_profile->localhost_profile = *name;
    }
    return std::make_shared<const Snapshot>(Snapshot{std::move(policy), std::move(catalog)});
}

}  // namespace seccomp_gate
