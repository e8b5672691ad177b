#include "policy/evaluate.h"

#include <algorithm>

#include "policy/checks/checks.h"
#include "policy/text.h"

namespace seccomp_gate {

const char* container_list_field(ContainerList list) {
    switch (list) {
        case ContainerList::kInit:
            return "initContainers";
        case ContainerList::kEphemeral:
            return "ephemeralContainers";
        case ContainerList::kRegular:
            break;
    }
    return "containers";
}

std::string object_ref(const Object& object) {
    std::string ref = object.kind.empty() ? "Object" : shown(object.kind);
    if (!object.ns.empty()) ref += "/" + shown(object.ns);
    return ref + "/" + (object.name.empty() ? "<unnamed>" : shown(object.name));
}

const std::vector<RuleInfo>& rule_catalog() {
    static const std::vector<RuleInfo> kRules{
        {"unconfined", "seccompProfile.type must not be Unconfined (pod or container level)"},
        {"unknown-type", "seccompProfile.type must be RuntimeDefault or Localhost"},
        {"runtime-default", "RuntimeDefault is not allowed by this policy"},
        {"localhost", "a Localhost profile must be a relative path naming a catalog profile"},
        {"permissive", "the Localhost profile's defaultAction is ALLOW or LOG"},
        {"unset", "every container needs a seccomp profile (its own or the pod's)"},
        {"legacy-annotation", "legacy seccomp annotations are ignored by kubelets"},
        {"privileged", "privileged containers run unconfined whatever their profile"},
        {"malformed", "a field that decides the seccomp profile cannot be read"},
    };
    return kRules;
}

bool Judgement::has_violations() const {
    return std::any_of(findings.begin(), findings.end(),
                       [](const Finding& f) { return f.severity == Severity::kViolation; });
}

Judgement judge(const Snapshot& snapshot, const Object& object, std::string_view ns,
                std::string_view username) {
    Judgement judgement;
    judgement.mode = snapshot.policy.mode_for(ns);
    if (snapshot.policy.is_exempt(ns, username)) {
        judgement.exempt = true;
        return judgement;
    }
    const checks::CheckContext context{snapshot.policy, snapshot.catalog};
    for (const auto& spec : object.pod_specs) {
        // Rule 8: seccomp does not exist on Windows nodes.
        if (spec.os_name == "windows") continue;
        checks::check_shape(context, spec, judgement.findings);
        checks::check_seccomp_profiles(context, spec, judgement.findings);
        checks::check_privileged(context, spec, judgement.findings);
        checks::check_legacy_annotations(context, spec, judgement.findings);
    }
    return judgement;
}

}  // namespace seccomp_gate
