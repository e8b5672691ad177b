#include "policy/mutation.h"

#include <nlohmann/json.hpp>

namespace seccomp_gate {
namespace {

nlohmann::ordered_json profile_value(const DefaultProfile& profile) {
    nlohmann::ordered_json value{{"type", to_string(profile.type)}};
    if (profile.type == ProfileType::kLocalhost) {
        value["localhostProfile"] = profile.localhost_profile;
    }
    return value;
}

bool has_unprofiled_container(const PodSpec& spec) {
    for (const auto& container : spec.containers) {
        if (!container.seccomp) return true;
    }
    return false;
}

bool security_context_unreadable(const PodSpec& spec) {
    const std::string field = spec.field_path + ".securityContext";
    for (const auto& error : spec.shape_errors) {
        if (error.path == field || error.path == spec.field_path) return true;
    }
    return false;
}

}  // namespace

std::string escape_pointer_segment(std::string_view segment) {
    std::string out;
    out.reserve(segment.size());
    for (const char c : segment) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<ProfilePatch> plan_mutation(const PolicyConfig& policy, const Object& object,
                                        MutationScope scope) {
    std::vector<ProfilePatch> patches;
    if (!policy.default_profile) return patches;
    for (std::size_t i = 0; i < object.pod_specs.size(); ++i) {
        const PodSpec& spec = object.pod_specs[i];
        if (!(spec.is_template ? scope.templates : scope.pods)) continue;
        if (spec.seccomp || !seccomp_applies(spec) || !has_unprofiled_container(spec) ||
            security_context_unreadable(spec)) {
            continue;
        }
        ProfilePatch patch;
        patch.spec_index = i;
        patch.creates_security_context = !spec.has_security_context;
        patch.path = spec.pointer + (spec.has_security_context ? "/securityContext/seccompProfile"
                                                               : "/securityContext");
        patches.push_back(std::move(patch));
    }
    return patches;
}

void apply_mutation(const PolicyConfig& policy, const std::vector<ProfilePatch>& patches,
                    Object& object) {
    if (!policy.default_profile) return;
    for (const auto& patch : patches) {
        PodSpec& spec = object.pod_specs[patch.spec_index];
        ProfileSetting setting;
        setting.type = policy.default_profile->type;
        setting.type_text = std::string(to_string(setting.type));
        if (setting.type == ProfileType::kLocalhost) {
            setting.localhost_profile = policy.default_profile->localhost_profile;
        }
        spec.seccomp = std::move(setting);
        spec.has_security_context = true;
    }
}

std::string patch_document(const PolicyConfig& policy, const std::vector<ProfilePatch>& patches) {
    auto document = nlohmann::ordered_json::array();
    if (!policy.default_profile) return document.dump();
    const auto profile = profile_value(*policy.default_profile);
    for (const auto& patch : patches) {
        nlohmann::ordered_json value = profile;
        if (patch.creates_security_context) value = {{"seccompProfile", profile}};
        document.push_back({{"op", "add"}, {"path", patch.path}, {"value", std::move(value)}});
    }
    return document.dump();
}

}  // namespace seccomp_gate
