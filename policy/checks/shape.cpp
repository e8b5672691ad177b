// Fields that exist but do not have the shape the API defines ("containers" not a list,
// "securityContext" not an object, ...). The API server rejects such objects itself; manifests
// and hand-made reviews can still carry them, and what cannot be read cannot be allowed.

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {

void check_shape(const CheckContext& /*context*/, const PodSpec& spec, std::vector<Finding>& out) {
    for (const auto& error : spec.shape_errors) {
        out.push_back(
            {"malformed", Severity::kViolation, error.path, "", error.message, error.line});
    }
}

}  // namespace seccomp_gate::checks
