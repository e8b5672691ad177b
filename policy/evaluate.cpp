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

std::string_view to_string(ProfileType type) {
    switch (type) {
        case ProfileType::kRuntimeDefault:
            return "RuntimeDefault";
        case ProfileType::kLocalhost:
            return "Localhost";
        case ProfileType::kUnconfined:
            return "Unconfined";
        case ProfileType::kUnknown:
            break;
    }
    return "";
}

ProfileType parse_profile_type(std::string_view text) {
    for (const auto type :
         {ProfileType::kRuntimeDefault, ProfileType::kLocalhost, ProfileType::kUnconfined}) {
        if (text == to_string(type)) return type;
    }
    return ProfileType::kUnknown;
}

bool seccomp_applies(const PodSpec& spec) { return spec.os_name != "windows"; }

const std::vector<RuleInfo>& rule_catalog() {
    static const std::vector<RuleInfo> kRules = [] {
        std::vector<RuleInfo> rules;
        for (const checks::Rule* rule : checks::registry()) {
            rules.push_back({rule->id, rule->summary});
        }
        return rules;
    }();
    return kRules;
}

bool Judgement::has_violations() const {
    return std::any_of(findings.begin(), findings.end(),
                       [](const Finding& f) { return f.severity == Severity::kViolation; });
}

Judgement judge(const Snapshot& snapshot, const Object& object, std::string_view ns) {
    Judgement judgement;
    judgement.mode = snapshot.policy.mode_for(ns);
    const checks::CheckContext context{snapshot.policy, snapshot.catalog};
    for (const auto& spec : object.pod_specs) {
        if (!seccomp_applies(spec)) continue;
        const std::size_t first = judgement.findings.size();
        for (const checks::Rule* rule : checks::registry()) {
            rule->check(context, spec, judgement.findings);
        }
        // The rules run one after the other; the report reads in field order (checks.h).
        std::stable_sort(judgement.findings.begin() + static_cast<std::ptrdiff_t>(first),
                         judgement.findings.end(),
                         [](const Finding& a, const Finding& b) { return a.order < b.order; });
    }
    return judgement;
}

}  // namespace seccomp_gate
