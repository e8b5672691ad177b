// Rule 6, "legacy-annotation". Fields: metadata.annotations["seccomp.security.alpha.kubernetes.io/
// pod"] and metadata.annotations["container.seccomp.security.alpha.kubernetes.io/<name>"].
// Kubelets ignore both, so they never set a profile: "unconfined" is a violation (someone is
// trying to run unconfined), any other value a warning (someone believes it protects them).

#include "policy/checks/checks.h"
#include "policy/decode.h"
#include "policy/text.h"

namespace seccomp_gate::checks {
namespace {

void check(const CheckContext& /*context*/, const PodSpec& spec, std::vector<Finding>& out) {
    for (std::size_t i = 0; i < spec.legacy_annotations.size(); ++i) {
        const LegacyAnnotation& annotation = spec.legacy_annotations[i];
        std::string container;
        std::string who = "pod";
        if (annotation.key.starts_with(kContainerAnnotationPrefix)) {
            container = annotation.key.substr(kContainerAnnotationPrefix.size());
            who = "container " + quoted(container);
        }
        const std::string key = shown(annotation.key);
        std::string path = spec.metadata_path + ".annotations[" + key + "]";
        const std::uint32_t order = order_of(Section::kAnnotations, i);
        if (annotation.value == "unconfined") {
            out.push_back({std::string(kLegacyAnnotation.id), Severity::kViolation, std::move(path),
                           std::move(container),
                           who + " must not ask for \"unconfined\" in annotation " + key +
                               " (legacy annotations are ignored by kubelets, and "
                               "seccompProfile.type \"Unconfined\" is not allowed either)",
                           annotation.line, order});
        } else {
            out.push_back({std::string(kLegacyAnnotation.id), Severity::kWarning, std::move(path),
                           std::move(container),
                           who + " sets annotation " + key + " to " + quoted(annotation.value) +
                               ", which kubelets ignore: set securityContext.seccompProfile "
                               "instead",
                           annotation.line, order});
        }
    }
}

}  // namespace

extern const Rule kLegacyAnnotation{"legacy-annotation",
                                    "legacy seccomp annotations are ignored by kubelets", &check};

}  // namespace seccomp_gate::checks
