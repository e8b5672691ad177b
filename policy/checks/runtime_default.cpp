// Rule 3, "runtime-default". Field: seccompProfile.type. Allowed: "RuntimeDefault" only while
// the policy's allowRuntimeDefault is true (the default).

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    if (context.policy.allow_runtime_default) return;
    for (const auto& setting : settings_of(spec)) {
        if (!readable(setting) || setting.setting->type != ProfileType::kRuntimeDefault) continue;
        add_setting_finding(out, kRuntimeDefault, Severity::kViolation, spec, setting,
                            path_of(spec, setting) + ".type",
                            "must not set seccompProfile.type to \"RuntimeDefault\" "
                            "(allowRuntimeDefault is false: use a Localhost profile from the "
                            "catalog)",
                            type_line(*setting.setting));
    }
}

}  // namespace

extern const Rule kRuntimeDefault{"runtime-default", "RuntimeDefault is not allowed by this policy",
                                  &check};

}  // namespace seccomp_gate::checks
