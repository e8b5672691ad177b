#pragma once
// The kinds of SPEC section 5, the resources that serve them and where their pod specs live.

#include <array>
#include <string_view>

namespace seccomp_gate {

struct WorkloadKind {
    std::string_view group;
    std::string_view kind;
    std::string_view resource;  // the REST resource serving the kind in `group`: "deployments"
    // Path of the pod template (object holding "metadata" and "spec"), empty for a Pod itself.
    std::array<std::string_view, 4> template_path;
    std::size_t template_depth;
};

// nullptr for kinds seccomp-gate does not judge. Case-sensitive, as the API is.
const WorkloadKind* find_workload_kind(std::string_view group, std::string_view kind);

// The same, from an AdmissionRequest's `resource` ({group, resource}).
const WorkloadKind* find_workload_resource(std::string_view group, std::string_view resource);

// "apps/v1" -> "apps", "v1" -> "".
std::string_view api_group(std::string_view api_version);

}  // namespace seccomp_gate
