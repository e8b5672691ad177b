#include "policy/policy_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string>
#include <vector>

namespace seccomp_gate {
namespace {

class Reader {
  public:
    explicit Reader(std::string_view source) : source_(source) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem,
                           const YAML::Node& node) const {
        std::string where = std::string(source_);
        if (node.IsDefined() && node.Mark().line >= 0) {
            where += ":" + std::to_string(node.Mark().line + 1);
        }
        throw ConfigError(where + ": " + key + ": " + problem);
    }

    void expect_keys(const YAML::Node& map, const std::string& path,
                     std::initializer_list<std::string_view> known) const {
        if (!map.IsMap()) fail(path.empty() ? "(top level)" : path, "must be a mapping", map);
        std::vector<std::string> seen;
        for (const auto& entry : map) {
            const std::string key = entry.first.Scalar();
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                fail(join(path, key), "unknown key", entry.first);
            }
            // YAML forbids it and yaml-cpp keeps the first: `mode: enforce` then `mode: audit`
            // must not load as either.
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
                fail(join(path, key), "duplicate key", entry.first);
            }
            seen.push_back(key);
        }
    }

    std::string string(const YAML::Node& node, const std::string& key) const {
        if (!node.IsScalar()) fail(key, "must be a string", node);
        return node.Scalar();
    }

    bool boolean(const YAML::Node& node, const std::string& key) const {
        if (node.IsScalar()) {
            const std::string& text = node.Scalar();
            if (text == "true") return true;
            if (text == "false") return false;
        }
        fail(key, "must be true or false", node);
    }

    std::vector<std::string> strings(const YAML::Node& node, const std::string& key) const {
        if (node.IsNull()) return {};
        if (!node.IsSequence()) fail(key, "must be a list of strings", node);
        std::vector<std::string> out;
        for (std::size_t i = 0; i < node.size(); ++i) {
            out.push_back(string(node[i], key + "[" + std::to_string(i) + "]"));
        }
        return out;
    }

    template <class Enum, std::size_t N>
    Enum choice(const YAML::Node& node, const std::string& key,
                const std::array<std::pair<std::string_view, Enum>, N>& values) const {
        const std::string text = string(node, key);
        for (const auto& [name, value] : values) {
            if (name == text) return value;
        }
        std::string allowed;
        for (const auto& [name, value] : values) {
            allowed += allowed.empty() ? "" : ", ";
            allowed += name;
        }
        fail(key, "\"" + text + "\" is not one of " + allowed, node);
    }

    static std::string join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }

  private:
    std::string_view source_;
};

constexpr std::array<std::pair<std::string_view, Mode>, 3> kModes{
    {{"enforce", Mode::kEnforce}, {"warn", Mode::kWarn}, {"audit", Mode::kAudit}}};
constexpr std::array<std::pair<std::string_view, Action>, 3> kActions{
    {{"allow", Action::kAllow}, {"warn", Action::kWarn}, {"deny", Action::kDeny}}};

}  // namespace

std::string_view to_string(Mode mode) {
    for (const auto& [name, value] : kModes) {
        if (value == mode) return name;
    }
    return "enforce";
}

std::string_view to_string(Action action) {
    for (const auto& [name, value] : kActions) {
        if (value == action) return name;
    }
    return "deny";
}

Mode PolicyConfig::mode_for(std::string_view ns) const {
    for (const auto& entry : overrides) {
        if (std::find(entry.namespaces.begin(), entry.namespaces.end(), ns) !=
            entry.namespaces.end()) {
            return entry.mode;
        }
    }
    return mode;
}

bool PolicyConfig::is_exempt(std::string_view ns, std::string_view username) const {
    const auto listed = [](const std::vector<std::string>& list, std::string_view value) {
        return !value.empty() && std::find(list.begin(), list.end(), value) != list.end();
    };
    return listed(exempt_namespaces, ns) || listed(exempt_usernames, username);
}

PolicyConfig parse_policy(std::string_view yaml_text, std::string_view source) {
    const Reader reader(source);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& error) {
        throw ConfigError(std::string(source) + ":" + std::to_string(error.mark.line + 1) +
                          ": not valid YAML: " + error.msg);
    }
    if (!root.IsDefined() || root.IsNull()) {
        throw ConfigError(std::string(source) + ": empty policy file");
    }
    reader.expect_keys(root, "",
                       {"apiVersion", "kind", "mode", "catalog", "allowRuntimeDefault",
                        "allowUnset", "defaultProfile", "permissiveProfiles", "privileged",
                        "mutateTemplates", "exemptions", "overrides"});
    if (!root["apiVersion"]) reader.fail("apiVersion", "is required (seccomp-gate/v1)", root);
    if (reader.string(root["apiVersion"], "apiVersion") != "seccomp-gate/v1") {
        reader.fail("apiVersion", "must be seccomp-gate/v1", root["apiVersion"]);
    }
    if (!root["kind"]) reader.fail("kind", "is required (Policy)", root);
    if (reader.string(root["kind"], "kind") != "Policy") {
        reader.fail("kind", "must be Policy", root["kind"]);
    }

    PolicyConfig policy;
    if (auto node = root["mode"]) policy.mode = reader.choice(node, "mode", kModes);
    if (auto catalog = root["catalog"]) {
        reader.expect_keys(catalog, "catalog", {"directory", "prefix"});
        if (auto node = catalog["directory"]) {
            policy.catalog_directory = reader.string(node, "catalog.directory");
        }
        if (auto node = catalog["prefix"]) {
            policy.catalog_prefix = reader.string(node, "catalog.prefix");
            if (policy.catalog_prefix.starts_with('/') ||
                policy.catalog_prefix.find("..") != std::string::npos) {
                reader.fail("catalog.prefix", "must be a relative path without \"..\"", node);
            }
        }
    }
    if (auto node = root["allowRuntimeDefault"]) {
        policy.allow_runtime_default = reader.boolean(node, "allowRuntimeDefault");
    }
    if (auto node = root["allowUnset"]) policy.allow_unset = reader.boolean(node, "allowUnset");
    if (auto node = root["defaultProfile"]; node && !node.IsNull()) {
        reader.expect_keys(node, "defaultProfile", {"type", "localhostProfile"});
        if (!node["type"]) reader.fail("defaultProfile.type", "is required", node);
        DefaultProfile profile;
        const std::string type = reader.string(node["type"], "defaultProfile.type");
        profile.type = parse_profile_type(type);
        if (profile.type == ProfileType::kLocalhost) {
            if (!node["localhostProfile"]) {
                reader.fail("defaultProfile.localhostProfile", "is required for type Localhost",
                            node);
            }
            profile.localhost_profile =
                reader.string(node["localhostProfile"], "defaultProfile.localhostProfile");
        } else if (profile.type == ProfileType::kRuntimeDefault) {
            if (node["localhostProfile"]) {
                reader.fail("defaultProfile.localhostProfile", "is only valid for type Localhost",
                            node["localhostProfile"]);
            }
            // A policy must not refuse what it mutates in (SPEC section 3). Read here whatever
            // the key order in the file.
            if (auto allow = root["allowRuntimeDefault"];
                allow && !reader.boolean(allow, "allowRuntimeDefault")) {
                reader.fail("defaultProfile.type",
                            "\"RuntimeDefault\" contradicts allowRuntimeDefault: false (every pod "
                            "it is mutated into would be denied)",
                            node["type"]);
            }
        } else {
            reader.fail("defaultProfile.type",
                        "\"" + type + "\" is not one of RuntimeDefault, Localhost", node["type"]);
        }
        policy.default_profile = profile;
    }
    if (auto node = root["permissiveProfiles"]) {
        policy.permissive_profiles = reader.choice(node, "permissiveProfiles", kActions);
    }
    if (auto node = root["privileged"])
        policy.privileged = reader.choice(node, "privileged", kActions);
    if (auto node = root["mutateTemplates"]) {
        policy.mutate_templates = reader.boolean(node, "mutateTemplates");
    }
    if (auto exemptions = root["exemptions"]; exemptions && !exemptions.IsNull()) {
        reader.expect_keys(exemptions, "exemptions", {"namespaces", "usernames"});
        if (auto node = exemptions["namespaces"]) {
            policy.exempt_namespaces = reader.strings(node, "exemptions.namespaces");
        }
        if (auto node = exemptions["usernames"]) {
            policy.exempt_usernames = reader.strings(node, "exemptions.usernames");
        }
    }
    if (auto overrides = root["overrides"]; overrides && !overrides.IsNull()) {
        if (!overrides.IsSequence()) reader.fail("overrides", "must be a list", overrides);
        for (std::size_t i = 0; i < overrides.size(); ++i) {
            const std::string path = "overrides[" + std::to_string(i) + "]";
            const YAML::Node entry = overrides[i];
            reader.expect_keys(entry, path, {"namespaces", "mode"});
            if (!entry["namespaces"]) reader.fail(path + ".namespaces", "is required", entry);
            if (!entry["mode"]) reader.fail(path + ".mode", "is required", entry);
            NamespaceOverride item;
            item.namespaces = reader.strings(entry["namespaces"], path + ".namespaces");
            item.mode = reader.choice(entry["mode"], path + ".mode", kModes);
            policy.overrides.push_back(std::move(item));
        }
    }
    return policy;
}

}  // namespace seccomp_gate
