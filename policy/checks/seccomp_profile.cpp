// Rules 1-5. Fields: spec.securityContext.seccompProfile and
// <containers>[i].securityContext.seccompProfile ({type, localhostProfile}).
// Allowed: RuntimeDefault (if allowRuntimeDefault), Localhost naming a catalog profile, and no
// profile at all only with allowUnset (or in a template when a defaultProfile will be mutated in).

#include <string>

#include "policy/checks/checks.h"
#include "policy/text.h"

namespace seccomp_gate::checks {
namespace {

// A pod-level message lists the containers that inherit the setting, up to this many.
constexpr std::size_t kMaxNamedContainers = 10;

struct Subject {
    std::string who;     // `container "c"` or `pod`
    std::string suffix;  // appended to pod-level messages: which containers inherit it
    std::string container;
};

void add(std::vector<Finding>& out, std::string rule, Severity severity, std::string path,
         const Subject& subject, const std::string& message, int line) {
    out.push_back(Finding{std::move(rule), severity, std::move(path), subject.container,
                          subject.who + " " + message + subject.suffix, line});
}

int line_of(int field_line, const ProfileSetting& setting) {
    return field_line != 0 ? field_line : setting.line;
}

void check_localhost(const CheckContext& context, const ProfileSetting& setting,
                     const std::string& path, const Subject& subject, std::vector<Finding>& out) {
    const std::string field = path + ".localhostProfile";
    const int line =
        line_of(setting.profile_line != 0 ? setting.profile_line : setting.type_line, setting);
    if (!setting.localhost_profile || setting.localhost_profile->empty()) {
        add(out, "localhost", Severity::kViolation, field, subject,
            "sets seccompProfile.type \"Localhost\" without a localhostProfile", line);
        return;
    }
    const std::string& wanted = *setting.localhost_profile;
    if (wanted.front() == '/') {
        add(out, "localhost", Severity::kViolation, field, subject,
            "sets localhostProfile " + quoted(wanted) + ", which must be a relative path", line);
        return;
    }
    const auto name = clean_profile_path(wanted);
    if (!name) {
        const bool escapes = ("/" + wanted + "/").find("/../") != std::string::npos;
        add(out, "localhost", Severity::kViolation, field, subject,
            "sets localhostProfile " + quoted(wanted) +
                (escapes ? ", which must not contain \"..\" segments"
                         : ", which does not name a profile file"),
            line);
        return;
    }
    const CatalogProfile* profile = context.catalog.find(*name);
    const std::string profile_shown =
        *name == wanted ? quoted(wanted) : quoted(wanted) + " (" + shown(*name) + ")";
    if (profile == nullptr) {
        add(out, "localhost", Severity::kViolation, field, subject,
            "uses Localhost profile " + profile_shown + ", which is not in the profile catalog",
            line);
        return;
    }
    if (profile->permissive && context.policy.permissive_profiles != Action::kAllow) {
        add(out, "permissive",
            context.policy.permissive_profiles == Action::kDeny ? Severity::kViolation
                                                                : Severity::kWarning,
            field, subject,
            "uses permissive profile " + profile_shown + " (defaultAction " +
                profile->default_action + " blocks nothing)",
            line);
    }
}

void check_setting(const CheckContext& context, const ProfileSetting& setting,
                   const std::string& path, const Subject& subject, std::vector<Finding>& out) {
    if (!setting.malformed.empty()) {
        add(out, "malformed", Severity::kViolation, path, subject,
            "has a malformed seccompProfile: " + setting.malformed, setting.line);
        return;
    }
    const std::string type_path = path + ".type";
    const int type_line = line_of(setting.type_line, setting);
    if (setting.type == "Unconfined") {
        add(out, "unconfined", Severity::kViolation, type_path, subject,
            "must not set seccompProfile.type to \"Unconfined\"", type_line);
    } else if (setting.type == "RuntimeDefault") {
        if (!context.policy.allow_runtime_default) {
            add(out, "runtime-default", Severity::kViolation, type_path, subject,
                "must not set seccompProfile.type to \"RuntimeDefault\" (allowRuntimeDefault is "
                "false: use a Localhost profile from the catalog)",
                type_line);
        }
    } else if (setting.type == "Localhost") {
        check_localhost(context, setting, path, subject, out);
    } else {
        add(out, "unknown-type", Severity::kViolation, type_path, subject,
            "sets seccompProfile.type to unknown value " + quoted(setting.type) +
                (context.policy.allow_runtime_default ? " (allowed: RuntimeDefault, Localhost)"
                                                      : " (allowed: Localhost)"),
            type_line);
    }
}

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
    if (count > 0)
        return " (inherited by container" + std::string(count > 1 ? "s " : " ") + names + ")";
    if (setting.type == "Unconfined") return " (even though every container sets its own profile)";
    return {};
}

}  // namespace

std::string container_path(const PodSpec& spec, const Container& container) {
    return spec.field_path + "." + container_list_field(container.list) + "[" +
           std::to_string(container.index) + "]";
}

std::string container_label(const Container& container) {
    return "container " + quoted(container.name);
}

void check_seccomp_profiles(const CheckContext& context, const PodSpec& spec,
                            std::vector<Finding>& out) {
    const std::string pod_path = spec.field_path + ".securityContext.seccompProfile";
    if (spec.seccomp) {
        check_setting(context, *spec.seccomp, pod_path,
                      Subject{"pod", inherited_suffix(spec, *spec.seccomp), ""}, out);
    }
    const bool unset_allowed = context.policy.allow_unset ||
                               (spec.is_template && context.policy.default_profile.has_value());
    for (const auto& container : spec.containers) {
        const std::string path =
            container_path(spec, container) + ".securityContext.seccompProfile";
        const Subject subject{container_label(container), "", container.name};
        if (container.seccomp) {
            check_setting(context, *container.seccomp, path, subject, out);
        } else if (!spec.seccomp && !unset_allowed) {
            add(out, "unset", Severity::kViolation, path, subject,
                "has no seccomp profile (set securityContext.seccompProfile on the container or "
                "at " +
                    pod_path + ")",
                container.line);
        }
    }
}

}  // namespace seccomp_gate::checks
