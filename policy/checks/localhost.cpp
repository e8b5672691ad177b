// Rule 4, "localhost". Field: seccompProfile.localhostProfile of a Localhost setting. Allowed: a
// relative path without ".." segments that, after lexical clean-up ("./", "//"), names a
// profile in the catalog (resolve_localhost decides; catalog.h).

#include "policy/checks/checks.h"
#include "policy/text.h"

namespace seccomp_gate::checks {
namespace {

std::string problem(const LocalhostResolution& resolved, const std::string& wanted) {
    using Status = LocalhostResolution::Status;
    switch (resolved.status) {
        case Status::kMissing:
            return "sets seccompProfile.type \"Localhost\" without a localhostProfile";
        case Status::kAbsolute:
            return "sets localhostProfile " + quoted(wanted) + ", which must be a relative path";
        case Status::kEscapes:
            return "sets localhostProfile " + quoted(wanted) +
                   ", which must not contain \"..\" segments";
        case Status::kNotAFile:
            return "sets localhostProfile " + quoted(wanted) +
                   ", which does not name a profile file";
        case Status::kNotInCatalog:
            return "uses Localhost profile " + shown_profile(resolved, wanted) +
                   ", which is not in the profile catalog";
        case Status::kFound:
            break;
    }
    return {};
}

void check(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    for (const auto& setting : settings_of(spec)) {
        if (!readable(setting) || setting.setting->type != ProfileType::kLocalhost) continue;
        const ProfileSetting& profile = *setting.setting;
        const LocalhostResolution resolved =
            resolve_localhost(context.catalog, profile.localhost_profile);
        const std::string message = problem(resolved, profile.localhost_profile.value_or(""));
        if (message.empty()) continue;
        add_setting_finding(out, kLocalhost, Severity::kViolation, spec, setting,
                            path_of(spec, setting) + ".localhostProfile", message,
                            localhost_profile_line(profile));
    }
}

}  // namespace

extern const Rule kLocalhost{
    "localhost", "a Localhost profile must be a relative path naming a catalog profile", &check};

}  // namespace seccomp_gate::checks
