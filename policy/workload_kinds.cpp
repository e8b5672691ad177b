#include "policy/workload_kinds.h"

namespace seccomp_gate {
namespace {

constexpr std::array<WorkloadKind, 9> kWorkloadKinds{{
    {"", "Pod", {}, 0},
    {"", "PodTemplate", {"template"}, 1},
    {"", "ReplicationController", {"spec", "template"}, 2},
    {"apps", "ReplicaSet", {"spec", "template"}, 2},
    {"apps", "Deployment", {"spec", "template"}, 2},
    {"apps", "StatefulSet", {"spec", "template"}, 2},
    {"apps", "DaemonSet", {"spec", "template"}, 2},
    {"batch", "Job", {"spec", "template"}, 2},
    {"batch", "CronJob", {"spec", "jobTemplate", "spec", "template"}, 4},
}};

}  // namespace

const WorkloadKind* find_workload_kind(std::string_view group, std::string_view kind) {
    for (const auto& candidate : kWorkloadKinds) {
        if (candidate.group == group && candidate.kind == kind) return &candidate;
    }
    return nullptr;
}

std::string_view api_group(std::string_view api_version) {
    const auto slash = api_version.find('/');
    return slash == std::string_view::npos ? std::string_view{} : api_version.substr(0, slash);
}

}  // namespace seccomp_gate
