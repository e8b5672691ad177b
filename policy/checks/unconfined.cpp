// Rule 1, "unconfined". Field: seccompProfile.type of the pod level (even when every container
// overrides it) and of each container. Allowed: anything but "Unconfined".

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& /*context*/, const PodSpec& spec, std::vector<Finding>& out) {
    for (const auto& setting : settings_of(spec)) {
        if (!readable(setting) || setting.setting->type != ProfileType::kUnconfined) continue;
        add_setting_finding(
            out, kUnconfined, Severity::kViolation, spec, setting, path_of(spec, setting) + ".type",
            "must not set seccompProfile.type to \"Unconfined\"", type_line(*setting.setting));
    }
}

}  // namespace

extern const Rule kUnconfined{
    "unconfined", "seccompProfile.type must not be Unconfined (pod or container level)", &check};

}  // namespace seccomp_gate::checks
