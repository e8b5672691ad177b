#pragma once
// The rules of SPEC section 5 as a registry: one file per rule id, each defining a Rule (its id,
// a one-line summary, and the check that appends its findings about one pod spec). judge(),
// SARIF's rule metadata and the tests all read registry(). A check never throws and never looks
// at anything but the model and the snapshot.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
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

using CheckFunction = void (*)(const CheckContext& context, const PodSpec& spec,
                               std::vector<Finding>& out);

struct Rule {
    std::string_view id;       // stable: Finding::rule, SARIF rule ids, the README's rule table
    std::string_view summary;  // one line, for SARIF and docs
    CheckFunction check;
};

// Every rule, in the order judge() runs them; ids are unique (checked when first built).
std::span<const Rule* const> registry();

// Throws std::logic_error naming a duplicate or empty id: registry() runs it on its own table.
void validate_registry(std::span<const Rule* const> rules);

// The rules, one per file.
extern const Rule kMalformed;
extern const Rule kUnconfined;
extern const Rule kUnknownType;
extern const Rule kRuntimeDefault;
extern const Rule kLocalhost;
extern const Rule kPermissive;
extern const Rule kUnset;
extern const Rule kPrivileged;
extern const Rule kLegacyAnnotation;

// ---- what the rule files share --------------------------------------------------------------

// Where a finding goes in the report, so that splitting the rules into files keeps the order
// users read: unreadable fields, then each seccompProfile setting (the pod's, then each
// container's), then privileged containers, then legacy annotations. judge() sorts on it.
enum class Section : std::uint32_t { kShapes = 0, kSettings = 1, kPrivilegedContainers = 2, kAnnotations = 3 };
std::uint32_t order_of(Section section, std::size_t slot);

// One seccompProfile setting the rules judge: the pod level as written, or a container's own
// (null when the container sets none).
struct Setting {
    const ProfileSetting* setting = nullptr;
    const Container* container = nullptr;  // null for the pod level
    std::uint32_t order = 0;
};

// The pod level when it is set, then every container, in order.
std::vector<Setting> settings_of(const PodSpec& spec);

// "spec.containers[1].securityContext.seccompProfile" (built only for a finding).
std::string path_of(const PodSpec& spec, const Setting& setting);

// Appends the finding of a rule about a setting: "<who> <message>", where who is
// `container "c"`, or `pod` followed by which containers inherit the setting.
void add_setting_finding(std::vector<Finding>& out, const Rule& rule, Severity severity,
                         const PodSpec& spec, const Setting& setting, std::string path,
                         const std::string& message, int line);

// A setting the rules can read (present and well formed).
bool readable(const Setting& setting);

// The source lines of a setting's fields, falling back to the setting's own line.
int type_line(const ProfileSetting& setting);
int localhost_profile_line(const ProfileSetting& setting);

// The localhostProfile as written, quoted, with the catalog name it cleans up to when different:
// `"./profiles//web.json" (profiles/web.json)`.
std::string shown_profile(const LocalhostResolution& resolved, const std::string& wanted);

// "spec.containers[1]".
std::string container_path(const PodSpec& spec, const Container& container);
// `container "name"`.
std::string container_label(const Container& container);

}  // namespace seccomp_gate::checks
