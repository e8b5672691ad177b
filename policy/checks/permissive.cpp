// Rule 4, "permissive". Field: seccompProfile.localhostProfile of a Localhost setting that names a
// catalog profile. A profile whose defaultAction is ALLOW or LOG blocks only what it lists:
// allowed, warned or denied as the policy's permissiveProfiles says.

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    const Action action = context.policy.permissive_profiles;
    if (action == Action::kAllow) return;
    for (const auto& setting : settings_of(spec)) {
        if (!readable(setting) || setting.setting->type != ProfileType::kLocalhost) continue;
        const ProfileSetting& profile = *setting.setting;
        const LocalhostResolution resolved =
            resolve_localhost(context.catalog, profile.localhost_profile);
        if (resolved.profile == nullptr || !resolved.profile->permissive) continue;
        add_setting_finding(
            out, kPermissive, action == Action::kDeny ? Severity::kViolation : Severity::kWarning,
            spec, setting, path_of(spec, setting) + ".localhostProfile",
            "uses permissive profile " + shown_profile(resolved, *profile.localhost_profile) +
                " (defaultAction " + resolved.profile->default_action + " blocks nothing)",
            localhost_profile_line(profile));
    }
}

}  // namespace

extern const Rule kPermissive{"permissive", "the Localhost profile's defaultAction is ALLOW or LOG",
                              &check};

}  // namespace seccomp_gate::checks
