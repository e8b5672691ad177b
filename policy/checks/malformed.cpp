// Rule "malformed". Fields: any field a decision reads that exists but does not have the shape
// the API defines ("containers" not a list, "securityContext" not an object, a seccompProfile
// without a string type, ...), and pod specs over the limits of decode.h. The API server
// rejects such objects itself; manifests and hand-made reviews can still carry them, and what
// cannot be read cannot be allowed: always a violation.

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& /*context*/, const PodSpec& spec, std::vector<Finding>& out) {
    for (const auto& error : spec.shape_errors) {
        out.push_back({std::string(kMalformed.id), Severity::kViolation, error.path, "",
                       error.message, error.line, order_of(Section::kShapes, 0)});
    }
    for (const auto& setting : settings_of(spec)) {
        if (setting.setting == nullptr || setting.setting->malformed.empty()) continue;
        add_setting_finding(
            out, kMalformed, Severity::kViolation, spec, setting, path_of(spec, setting),
            "has a malformed seccompProfile: " + setting.setting->malformed, setting.setting->line);
    }
}

}  // namespace

extern const Rule kMalformed{"malformed", "a field that decides the seccomp profile cannot be read",
                             &check};

}  // namespace seccomp_gate::checks
