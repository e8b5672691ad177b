#pragma once
// The rules of SPEC section 5, one file each. A check appends its findings about one pod spec;
// it never throws and never looks at anything but the model and the snapshot.

#include <string>
#include <vector>

#include "policy/catalog.h"
#include "policy/finding.h"
#include "policy/model.h"
#include "policy/policy_config.h"

namespace seccomp_gate::checks {

struct CheckContext {
    const PolicyConfig& policy;
    const CatalogSnapshot& catalog;
};

// Rules 1-5: pod-level and container seccompProfile settings, and containers with none.
void check_seccomp_profiles(const CheckContext& context, const PodSpec& spec,
                            std::vector<Finding>& out);

// Rule 6: the legacy seccomp annotations.
void check_legacy_annotations(const CheckContext& context, const PodSpec& spec,
                              std::vector<Finding>& out);

// Rule 7: privileged containers.
void check_privileged(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out);

// Fields that exist but cannot be read (fail closed).
void check_shape(const CheckContext& context, const PodSpec& spec, std::vector<Finding>& out);

// "spec.containers[1]".
std::string container_path(const PodSpec& spec, const Container& container);
// `container "name"`.
std::string container_label(const Container& container);

}  // namespace seccomp_gate::checks
