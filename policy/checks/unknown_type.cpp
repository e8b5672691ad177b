// Rule 2, "unknown-type". Field: seccompProfile.type. Allowed: RuntimeDefault, Localhost (and
// Unconfined, which rule 1 judges); any other value is a violation (fail closed).

#include "policy/checks/checks.h"
#include "policy/text.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out) {
    for (const auto& setting : settings_of(spec)) {
        if (!readable(setting) || setting.setting->type != ProfileType::kUnknown) continue;
        add_setting_finding(
            out, kUnknownType, Severity::kViolation, spec, setting,
            path_of(spec, setting) + ".type",
            "sets seccompProfile.type to unknown value " + quoted(setting.setting->type_text) +
                (context.policy.allow_runtime_default ? " (allowed: RuntimeDefault, Localhost)"
                                                      : " (allowed: Localhost)"),
            type_line(*setting.setting));
    }
}

}  // namespace

extern const Rule kUnknownType{"unknown-type",
                               "seccompProfile.type must be RuntimeDefault or Localhost", &check};

}  // namespace seccomp_gate::checks
