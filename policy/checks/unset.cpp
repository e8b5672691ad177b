// Rule 5, "unset". Field: the effective seccompProfile of each container (its own, else the
// pod's). Allowed: any profile; none only with allowUnset, or in a workload template when a
// defaultProfile will be mutated into its pods.

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    const bool unset_allowed = context.policy.allow_unset ||
                               (spec.is_template && context.policy.default_profile.has_value());
    if (spec.seccomp || unset_allowed) return;
    const std::string pod_path = spec.field_path + ".securityContext.seccompProfile";
    for (const auto& setting : settings_of(spec)) {
        if (setting.container == nullptr || setting.setting != nullptr) continue;
        add_setting_finding(out, kUnset, Severity::kViolation, spec, setting,
                            path_of(spec, setting),
                            "has no seccomp profile (set securityContext.seccompProfile on the "
                            "container or at " +
                                pod_path + ")",
                            setting.container->line);
    }
}

}  // namespace

extern const Rule kUnset{"unset", "every container needs a seccomp profile (its own or the pod's)",
                         &check};

}  // namespace seccomp_gate::checks
