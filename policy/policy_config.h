#pragma once
// The policy file of SPEC section 3.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/model.h"

namespace seccomp_gate {

// A start-up or reload error: the message names the file and the key.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class Mode { kEnforce, kWarn, kAudit };
enum class Action { kAllow, kWarn, kDeny };  // for permissiveProfiles and privileged

std::string_view to_string(Mode mode);
std::string_view to_string(Action action);

struct DefaultProfile {
    ProfileType type = ProfileType::kRuntimeDefault;  // RuntimeDefault or Localhost
    std::string localhost_profile;
};

struct NamespaceOverride {
    std::vector<std::string> namespaces;
    Mode mode = Mode::kEnforce;
};

struct PolicyConfig {
    Mode mode = Mode::kEnforce;
    std::string catalog_directory;  // as written, relative to the policy file
    std::string catalog_prefix;
    bool allow_runtime_default = true;
    bool allow_unset = false;
    std::optional<DefaultProfile> default_profile;
    Action permissive_profiles = Action::kWarn;
    Action privileged = Action::kWarn;
    bool mutate_templates = false;
    std::vector<std::string> exempt_namespaces;
    std::vector<std::string> exempt_usernames;
    std::vector<NamespaceOverride> overrides;

    // The mode in force for a namespace (first matching override, else `mode`).
    Mode mode_for(std::string_view ns) const;
    bool is_exempt(std::string_view ns, std::string_view username) const;
};

// Parses the policy YAML. Throws ConfigError("<source>: <key>: <problem>") on unknown keys,
// wrong types and bad values.
PolicyConfig parse_policy(std::string_view yaml_text, std::string_view source);

}  // namespace seccomp_gate
