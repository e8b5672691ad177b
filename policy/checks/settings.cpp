// What the rule files share: the settings they judge, the subject of a message, the order of the
// report.

#include "policy/checks/checks.h"
#include "policy/text.h"

namespace seccomp_gate::checks {
namespace {

// A pod-level message lists the containers that inherit the setting, up to this many.
constexpr std::size_t kMaxNamedContainers = 10;

std::string inherited_suffix(const PodSpec& spec, const ProfileSetting& setting) {
    std::string names;
    std::size_t count = 0;
    for (const auto& container : spec.containers) {
        if (container.seccomp) continue;
        if (count++ < kMaxNamedContainers) {
            names += count == 1 ? "" : ", ";
            names += quoted(container.name);
        }
    }
    if (count > kMaxNamedContainers) {
        names += " and " + std::to_string(count - kMaxNamedContainers) + " more";
    }
    if (count > 0) {
        return " (inherited by container" + std::string(count > 1 ? "s " : " ") + names + ")";
    }
    if (setting.type == ProfileType::kUnconfined) {
        return " (even though every container sets its own profile)";
    }
    return {};
}

}  // namespace

std::uint32_t order_of(Section section, std::size_t slot) {
    return (static_cast<std::uint32_t>(section) << 24U) | static_cast<std::uint32_t>(slot);
}

std::vector<Setting> settings_of(const PodSpec& spec) {
    std::vector<Setting> settings;
    settings.reserve(spec.containers.size() + 1);
    if (spec.seccomp) settings.push_back({&*spec.seccomp, nullptr, order_of(Section::kSettings, 0)});
    for (std::size_t i = 0; i < spec.containers.size(); ++i) {
        const Container& container = spec.containers[i];
        settings.push_back({container.seccomp ? &*container.seccomp : nullptr, &container,
                            order_of(Section::kSettings, i + 1)});
    }
    return settings;
}

std::string path_of(const PodSpec& spec, const Setting& setting) {
    return (setting.container == nullptr ? spec.field_path
                                         : container_path(spec, *setting.container)) +
           ".securityContext.seccompProfile";
}

bool readable(const Setting& setting) {
    return setting.setting != nullptr && setting.setting->malformed.empty();
}

void add_setting_finding(std::vector<Finding>& out, const Rule& rule, Severity severity,
                         const PodSpec& spec, const Setting& setting, std::string path,
                         const std::string& message, int line) {
    std::string text;
    std::string container;
    if (setting.container != nullptr) {
        container = setting.container->name;
        text = container_label(*setting.container) + " " + message;
    } else {
        text = "pod " + message + inherited_suffix(spec, *setting.setting);
    }
    out.push_back(Finding{std::string(rule.id), severity, std::move(path), std::move(container),
                          std::move(text), line, setting.order});
}

int type_line(const ProfileSetting& setting) {
    return setting.type_line != 0 ? setting.type_line : setting.line;
}

int localhost_profile_line(const ProfileSetting& setting) {
    return setting.profile_line != 0 ? setting.profile_line : type_line(setting);
}

std::string shown_profile(const LocalhostResolution& resolved, const std::string& wanted) {
    if (resolved.name == wanted) return quoted(wanted);
    return quoted(wanted) + " (" + shown(resolved.name) + ")";
}

std::string container_path(const PodSpec& spec, const Container& container) {
    return spec.field_path + "." + container_list_field(container.list) + "[" +
           std::to_string(container.index) + "]";
}

std::string container_label(const Container& container) {
    return "container " + quoted(container.name);
}

}  // namespace seccomp_gate::checks
