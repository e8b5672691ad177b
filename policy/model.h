#pragma once
// The typed model the rules work on. Decoders (JSON for AdmissionReviews, YAML for manifests)
// fill it; the rules never see JSON or YAML.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seccomp_gate {

// seccompProfile.type, decoded once (decode.h); kUnknown for any other value (rule 2).
enum class ProfileType { kRuntimeDefault, kLocalhost, kUnconfined, kUnknown };

// "RuntimeDefault", "Localhost", "Unconfined"; kUnknown has no name of its own.
std::string_view to_string(ProfileType type);
ProfileType parse_profile_type(std::string_view text);

// securityContext.seccompProfile as written. `malformed` is set when the field exists but does
// not have the shape of a SeccompProfile (not an object, type not a string, ...): the rules fail
// closed on it.
struct ProfileSetting {
    ProfileType type = ProfileType::kUnknown;
    std::string type_text;  // the value as written, for messages about an unknown type
    std::optional<std::string> localhost_profile;
    std::string malformed;
    int line = 0;          // the seccompProfile value
    int type_line = 0;     // its "type" field
    int profile_line = 0;  // its "localhostProfile" field

    bool operator==(const ProfileSetting& other) const {
        return type_text == other.type_text && localhost_profile == other.localhost_profile &&
               malformed == other.malformed;
    }
};

enum class ContainerList { kInit, kRegular, kEphemeral };

// "initContainers", "containers", "ephemeralContainers".
const char* container_list_field(ContainerList list);

struct Container {
    ContainerList list = ContainerList::kRegular;
    std::size_t index = 0;
    std::string name;
    std::optional<ProfileSetting> seccomp;  // nullopt: the container sets no profile
    bool privileged = false;
    int line = 0;
    int privileged_line = 0;

    bool operator==(const Container& other) const {
        return list == other.list && name == other.name && seccomp == other.seccomp &&
               privileged == other.privileged;
    }
};

// A legacy seccomp annotation (seccomp.security.alpha.kubernetes.io/pod or
// container.seccomp.security.alpha.kubernetes.io/<name>); others are not kept.
struct LegacyAnnotation {
    std::string key;
    std::string value;
    int line = 0;

    bool operator==(const LegacyAnnotation& other) const {
        return key == other.key && value == other.value;
    }
};

// A field that exists but cannot be read as the API defines it ("containers" not a list, ...).
struct ShapeError {
    std::string path;
    std::string message;
    int line = 0;

    bool operator==(const ShapeError& other) const {
        return path == other.path && message == other.message;
    }
};

// Rule 8: seccomp does not exist on Windows nodes, so a Windows pod spec is neither judged nor
// mutated. The one place that decides it.
struct PodSpec;
bool seccomp_applies(const PodSpec& spec);

// One pod spec: a Pod's spec, or a workload's pod template spec.
struct PodSpec {
    std::string pointer;        // JSON pointer of the spec, e.g. "/spec/template/spec"
    std::string field_path;     // the same as a field path, e.g. "spec.template.spec"
    std::string metadata_path;  // "metadata" or "spec.template.metadata"
    bool is_template = false;
    bool has_security_context = false;      // spec.securityContext is an object
    std::optional<ProfileSetting> seccomp;  // spec.securityContext.seccompProfile
    std::string os_name;
    std::vector<Container> containers;
    std::vector<LegacyAnnotation> legacy_annotations;
    std::vector<ShapeError> shape_errors;
    bool over_limit = false;  // too many containers or annotations: refused, not decoded
    int line = 0;

    // What rules 1-7 look at: an UPDATE that leaves this alone is not judged.
    bool same_seccomp_state(const PodSpec& other) const {
        return seccomp == other.seccomp && os_name == other.os_name &&
               containers == other.containers && legacy_annotations == other.legacy_annotations &&
               shape_errors == other.shape_errors;
    }
};

// A Kubernetes object reduced to what seccomp-gate judges.
struct Object {
    std::string api_version;
    std::string kind;
    std::string ns;
    std::string name;
    bool has_pod_specs = false;  // a kind of SPEC section 5 (Pod or a workload)
    std::vector<PodSpec> pod_specs;
    int line = 0;
};

// "Kind/namespace/name" (or "Kind/name" without a namespace) for messages.
std::string object_ref(const Object& object);

}  // namespace seccomp_gate
