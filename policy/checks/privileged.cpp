// Rule 7. Field: <containers>[i].securityContext.privileged. A privileged container runs
// without a seccomp filter whatever its profile says, so `privileged: true` follows the
// policy's `privileged` action (allow, warn or deny).

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {

void check_privileged(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    if (context.policy.privileged == Action::kAllow) return;
    const Severity severity =
        context.policy.privileged == Action::kDeny ? Severity::kViolation : Severity::kWarning;
    for (const auto& container : spec.containers) {
        if (!container.privileged) continue;
        out.push_back(
            {"privileged", severity,
             container_path(spec, container) + ".securityContext.privileged", container.name,
             container_label(container) +
                 " is privileged, so it runs unconfined whatever its seccomp profile",
             container.privileged_line != 0 ? container.privileged_line : container.line});
    }
}

}  // namespace seccomp_gate::checks
