#include "policy/workload_kinds.h"

namespace seccomp_gate {
namespace {

// Every group that serves a kind, whatever its versions: apps/v1, apps/v1beta1 and apps/v1beta2
// are all "apps"; extensions/v1beta1 served DaemonSet, Deployment and ReplicaSet until 1.16 and
// old manifests still use it.
constexpr std::array<WorkloadKind, 12> kWorkloadKinds{{
    {"", "Pod", "pods", {}, 0},
    {"", "PodTemplate", "podtemplates", {"template"}, 1},
    {"", "ReplicationController", "replicationcontrollers", {"spec", "template"}, 2},
    {"apps", "ReplicaSet", "replicasets", {"spec", "template"}, 2},
    {"apps", "Deployment", "deployments", {"spec", "template"}, 2},
    {"apps", "StatefulSet", "statefulsets", {"spec", "template"}, 2},
    {"apps", "DaemonSet", "daemonsets", {"spec", "template"}, 2},
    {"extensions", "ReplicaSet", "replicasets", {"spec", "template"}, 2},
    {"extensions", "Deployment", "deployments", {"spec", "template"}, 2},
    {"extensions", "DaemonSet", "daemonsets", {"spec", "template"}, 2},
    {"batch", "Job", "jobs", {"spec", "template"}, 2},
    {"batch", "CronJob", "cronjobs", {"spec", "jobTemplate", "spec", "template"}, 4},
}};

}  // namespace

const WorkloadKind* find_workload_kind(std::string_view group, std::string_view kind) {
    for (const auto& candidate : kWorkloadKinds) {
        if (candidate.group == group && candidate.kind == kind) return &candidate;
    }
    return nullptr;
}

const WorkloadKind* find_workload_resource(std::string_view group, std::string_view resource) {
    for (const auto& candidate : kWorkloadKinds) {
        if (candidate.group == group && candidate.resource == resource) return &candidate;
    }
    return nullptr;
}

std::string_view api_group(std::string_view api_version) {
    const auto slash = api_version.find('/');
    return slash == std::string_view::npos ? std::string_view{} : api_version.substr(0, slash);
}

}  // namespace seccomp_gate
