#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seccomp_gate {

enum class Severity { kViolation, kWarning };

// One result of a rule about one field.
struct Finding {
    std::string rule;  // stable id, e.g. "unconfined" (SARIF rule ids, metrics)
    Severity severity = Severity::kViolation;
    std::string path;         // field path, e.g. spec.containers[1].securityContext.seccompProfile
    std::string container;    // the container concerned, empty for pod-level findings
    std::string message;      // names the container and the offending value
    int line = 0;             // source line for manifests, 0 for AdmissionReviews
    std::uint32_t order = 0;  // place in the report within its pod spec (checks.h: order_of)

    std::string text() const { return path + ": " + message; }
};

struct RuleInfo {
    std::string_view id;
    std::string_view summary;
};

// Every rule id a Finding can carry, with a one-line description (SARIF, docs).
const std::vector<RuleInfo>& rule_catalog();

}  // namespace seccomp_gate
