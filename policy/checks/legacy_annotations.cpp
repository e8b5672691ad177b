// Rule 6. Fields: metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"] and
// metadata.annotations["container.seccomp.security.alpha.kubernetes.io/<name>"].
// Kubelets ignore both, so they never set a profile: "unconfined" is a violation (someone is
// trying to run unconfined), any other value a warning (someone believes it protects them).

#include "policy/checks/checks.h"
#include "policy/decode.h"
#include "policy/text.h"

namespace seccomp_gate::checks {

void check_legacy_annotations(const CheckContext& /*context*/, const PodSpec& spec,
                              std::vector<Finding>& out) {
    for (const auto& annotation : spec.legacy_annotations) {
        std::string container;
        std::string who = "pod";
        if (annotation.key.starts_with(kContainerAnnotationPrefix)) {
            container = annotation.key.substr(kContainerAnnotationPrefix.size());
            who = "container " + quoted(container);
        }
        const std::string key = shown(annotation.key);
        const std::string path = spec.metadata_path + ".annotations[" + key + "]";
        if (annotation.value == "unconfined") {
            out.push_back({"legacy-annotation", Severity::kViolation, path, container,
                           who + " must not ask for \"unconfined\" in annotation " + key +
                               " (legacy annotations are ignored by kubelets, and "
                               "seccompProfile.type \"Unconfined\" is not allowed either)",
                           annotation.line});
        } else {
            out.push_back({"legacy-annotation", Severity::kWarning, path, container,
                           who + " sets annotation " + key + " to " + quoted(annotation.value) +
                               ", which kubelets ignore: set "
                               "securityContext.seccompProfile instead",
                           annotation.line});
        }
    }
}

}  // namespace seccomp_gate::checks
