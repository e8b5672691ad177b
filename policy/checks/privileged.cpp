// Rule 7, "privileged". Field: <containers>[i].securityContext.privileged. A privileged container
// runs without a seccomp filter whatever its profile says, so `privileged: true` follows the
// policy's `privileged` action (allow, warn or deny).

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    if (context.policy.privileged == Action::kAllow) return;
    const Severity severity =
        context.policy.privileged == Action::kDeny ? Severity::kViolation : Severity::kWarning;
    for (std::size_t i = 0; i < spec.containers.size(); ++i) {
        const Container& container = spec.containers[i];
        if (!container.privileged) continue;
        out.push_back({std::string(kPrivileged.id), severity,
                       container_path(spec, container) + ".securityContext.privileged",
                       container.name,
                       container_label(container) +
                           " is privileged, so it runs unconfined whatever its seccomp profile",
                       container.privileged_line != 0 ? container.privileged_line : container.line,
                       order_of(Section::kPrivilegedContainers, i)});
    }
}

}  // namespace

extern const Rule kPrivileged{
    "privileged", "privileged containers run unconfined whatever their profile", &check};

}  // namespace seccomp_gate::checks
