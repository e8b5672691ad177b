#pragma once
// Decodes a Kubernetes object into the typed model, over any document tree that offers the
// small Node interface below (simdjson for AdmissionReviews, yaml-cpp for manifests), so both
// paths read the same fields the same way.
//
// Node:
//   bool is_object() const; bool is_array() const; bool is_null() const;
//   std::optional<Node> member(std::string_view key) const;     // objects only
//   template <class F> void each_element(F f) const;            // f(const Node&)
//   template <class F> void each_member(F f) const;             // f(std::string_view, const Node&)
//   std::optional<std::string_view> string() const;             // string scalars only
//   std::optional<bool> boolean() const;
//   std::size_t size() const;                                   // elements or members
//   int line() const;                                           // 1-based, 0 when unknown

#include <optional>
#include <string>
#include <string_view>

#include "policy/model.h"
#include "policy/mutation.h"
#include "policy/workload_kinds.h"

namespace seccomp_gate {

inline constexpr std::string_view kPodAnnotation = "seccomp.security.alpha.kubernetes.io/pod";
inline constexpr std::string_view kContainerAnnotationPrefix =
    "container.seccomp.security.alpha.kubernetes.io/";

// What one pod spec may hold before it is refused unread, so that a small hostile request cannot
// turn into millions of findings. No real pod comes near: the API server stores objects of at
// most 1.5 MiB (etcd), which holds a few thousand minimal containers, and kubelets run tens.
inline constexpr std::size_t kMaxContainersPerPod =
    1000;  // initContainers + containers + ephemeral
// The API server's own limit on the total size of an object's annotations (keys and values).
inline constexpr std::size_t kMaxAnnotationBytes = 256 * 1024;

namespace detail {

template <class Node>
std::optional<Node> present(const std::optional<Node>& node) {
    if (node && !node->is_null()) return node;
    return std::nullopt;
}

template <class Node>
std::optional<Node> member(const Node& node, std::string_view key) {
    if (!node.is_object()) return std::nullopt;
    return present(node.member(key));
}

template <class Node>
std::string string_member(const Node& node, std::string_view key) {
    if (auto value = member(node, key)) {
        if (auto text = value->string()) return std::string(*text);
    }
    return {};
}

// securityContext.seccompProfile: {type, localhostProfile}.
template <class Node>
ProfileSetting decode_profile(const Node& node) {
    ProfileSetting setting;
    setting.line = node.line();
    if (!node.is_object()) {
        setting.malformed = "it must be an object with a type";
        return setting;
    }
    auto type = member(node, "type");
    if (!type) {
        setting.malformed = "it has no type";
    } else if (setting.type_line = type->line(); auto text = type->string()) {
        setting.type_text = std::string(*text);
        setting.type = parse_profile_type(*text);
    } else {
        setting.malformed = "its type must be a string";
    }
    if (auto profile = member(node, "localhostProfile")) {
        setting.profile_line = profile->line();
        if (auto text = profile->string()) {
            setting.localhost_profile = std::string(*text);
        } else if (setting.malformed.empty()) {
            setting.malformed = "its localhostProfile must be a string";
        }
    }
    return setting;
}

template <class Node>
void decode_containers(const Node& spec, ContainerList list, const std::string& field_path,
                       PodSpec& out) {
    const char* field = container_list_field(list);
    auto items = member(spec, field);
    if (!items) return;
    const std::string list_path = field_path + "." + field;
    if (!items->is_array()) {
        out.shape_errors.push_back({list_path, "must be a list of containers", items->line()});
        return;
    }
    std::size_t index = 0;
    items->each_element([&](const Node& item) {
        Container container;
        container.list = list;
        container.index = index;
        container.line = item.line();
        const std::string path = list_path + "[" + std::to_string(index) + "]";
        ++index;
        if (!item.is_object()) {
            out.shape_errors.push_back({path, "must be a container object", item.line()});
            return;
        }
        container.name = string_member(item, "name");
        if (auto context = member(item, "securityContext")) {
            if (!context->is_object()) {
                out.shape_errors.push_back(
                    {path + ".securityContext", "must be an object", context->line()});
            } else {
                if (auto profile = member(*context, "seccompProfile")) {
                    container.seccomp = decode_profile(*profile);
                }
                if (auto privileged = member(*context, "privileged")) {
                    container.privileged = privileged->boolean().value_or(false);
                    container.privileged_line = privileged->line();
                }
            }
        }
        out.containers.push_back(std::move(container));
    });
}

template <class Node>
void decode_annotations(const Node& metadata, PodSpec& out) {
    auto annotations = member(metadata, "annotations");
    if (!annotations || !annotations->is_object()) return;
    std::size_t bytes = 0;
    annotations->each_member([&](std::string_view key, const Node& value) {
        bytes += key.size() + value.string().value_or(std::string_view{}).size();
    });
    if (bytes > kMaxAnnotationBytes) {
        out.over_limit = true;
        out.shape_errors.push_back({out.metadata_path + ".annotations",
                                    "holds " + std::to_string(bytes) +
                                        " bytes of annotations, more than the API server's "
                                        "limit of " +
                                        std::to_string(kMaxAnnotationBytes),
                                    annotations->line()});
        return;
    }
    annotations->each_member([&](std::string_view key, const Node& value) {
        if (key != kPodAnnotation && !key.starts_with(kContainerAnnotationPrefix)) return;
        auto text = value.string();
        out.legacy_annotations.push_back(
            {std::string(key), text ? std::string(*text) : std::string(), value.line()});
    });
}

// Refuses a spec with more than kMaxContainersPerPod containers before any is decoded.
template <class Node>
bool within_container_limit(const Node& spec, PodSpec& out) {
    std::size_t count = 0;
    for (const auto list :
         {ContainerList::kInit, ContainerList::kRegular, ContainerList::kEphemeral}) {
        auto items = member(spec, container_list_field(list));
        if (items && items->is_array()) count += items->size();
    }
    if (count <= kMaxContainersPerPod) return true;
    out.over_limit = true;
    out.shape_errors.push_back({out.field_path,
                                "has " + std::to_string(count) + " containers, more than the " +
                                    std::to_string(kMaxContainersPerPod) +
                                    " a pod spec may have (initContainers, containers and "
                                    "ephemeralContainers together)",
                                spec.line()});
    return false;
}

// `pod` holds "metadata" and "spec" (a Pod, or a pod template).
template <class Node>
PodSpec decode_pod(const Node& pod, const std::string& pointer_prefix,
                   const std::string& path_prefix, bool is_template) {
    PodSpec out;
    out.is_template = is_template;
    out.pointer = pointer_prefix + "/spec";
    out.field_path = path_prefix.empty() ? "spec" : path_prefix + ".spec";
    out.metadata_path = path_prefix.empty() ? "metadata" : path_prefix + ".metadata";
    out.line = pod.line();
    if (auto metadata = member(pod, "metadata")) decode_annotations(*metadata, out);

    auto spec = member(pod, "spec");
    if (!spec) return out;
    out.line = spec->line();
    if (!spec->is_object()) {
        out.shape_errors.push_back({out.field_path, "must be an object", spec->line()});
        return out;
    }
    if (auto context = member(*spec, "securityContext")) {
        if (!context->is_object()) {
            out.shape_errors.push_back(
                {out.field_path + ".securityContext", "must be an object", context->line()});
        } else {
            out.has_security_context = true;
            if (auto profile = member(*context, "seccompProfile")) {
                out.seccomp = decode_profile(*profile);
            }
        }
    }
    if (auto os = member(*spec, "os")) out.os_name = string_member(*os, "name");
    if (!within_container_limit(*spec, out)) return out;
    decode_containers(*spec, ContainerList::kInit, out.field_path, out);
    decode_containers(*spec, ContainerList::kRegular, out.field_path, out);
    decode_containers(*spec, ContainerList::kEphemeral, out.field_path, out);
    return out;
}

}  // namespace detail

// The pod template of a workload (the object holding "metadata" and "spec"), the object itself
// for a Pod; nullopt when the workload has none.
template <class Node>
std::optional<Node> find_pod_template(const Node& root, const WorkloadKind& kind) {
    std::optional<Node> pod = root;
    for (std::size_t i = 0; i < kind.template_depth && pod; ++i) {
        pod = detail::member(*pod, kind.template_path[i]);
    }
    return pod;
}

// Decodes `root` as an object of `kind` (nullptr: a kind that is not judged, only its identity
// is read).
template <class Node>
Object decode_object(const Node& root, const WorkloadKind* kind) {
    using detail::member;
    Object object;
    object.line = root.line();
    object.api_version = detail::string_member(root, "apiVersion");
    object.kind = detail::string_member(root, "kind");
    if (auto metadata = member(root, "metadata")) {
        object.ns = detail::string_member(*metadata, "namespace");
        object.name = detail::string_member(*metadata, "name");
        if (object.name.empty()) object.name = detail::string_member(*metadata, "generateName");
    }
    if (kind == nullptr) return object;
    object.has_pod_specs = true;

    std::string pointer;
    std::string path;
    for (std::size_t i = 0; i < kind->template_depth; ++i) {
        pointer += "/";
        pointer += escape_pointer_segment(kind->template_path[i]);
        if (!path.empty()) path += ".";
        path += kind->template_path[i];
    }
    const std::optional<Node> pod = find_pod_template(root, *kind);
    if (!pod) return object;  // no template: nothing to run, nothing to judge
    if (!pod->is_object()) {
        PodSpec spec;
        spec.shape_errors.push_back({path, "must be an object", pod->line()});
        object.pod_specs.push_back(std::move(spec));
        return object;
    }
    object.pod_specs.push_back(detail::decode_pod(*pod, pointer, path, kind->template_depth > 0));
    return object;
}

}  // namespace seccomp_gate
