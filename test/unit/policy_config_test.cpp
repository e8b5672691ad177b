// The policy file: defaults, every key, and load errors that name the file and the key.

#include "policy/policy_config.h"

#include <doctest/doctest.h>

namespace seccomp_gate {
namespace {

constexpr const char* kHeader = "apiVersion: seccomp-gate/v1\nkind: Policy\n";

PolicyConfig parse(const std::string& body) { return parse_policy(kHeader + body, "p.yaml"); }

std::string error_of(const std::string& text) {
    try {
        parse_policy(text, "p.yaml");
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "(no error)";
}

TEST_CASE("defaults follow SPEC section 3") {
    const PolicyConfig policy = parse("");
    CHECK(policy.mode == Mode::kEnforce);
    CHECK(policy.allow_runtime_default);
    CHECK_FALSE(policy.allow_unset);
    CHECK_FALSE(policy.default_profile.has_value());
    CHECK(policy.permissive_profiles == Action::kWarn);
    CHECK(policy.privileged == Action::kWarn);
    CHECK_FALSE(policy.mutate_templates);
    CHECK(policy.catalog_prefix.empty());
}

TEST_CASE("every key is read") {
    const PolicyConfig policy = parse(R"(mode: warn
catalog: {directory: cat/, prefix: gate}
allowRuntimeDefault: false
allowUnset: true
defaultProfile: {type: Localhost, localhostProfile: profiles/default.json}
permissiveProfiles: deny
privileged: allow
mutateTemplates: true
exemptions: {namespaces: [kube-system, tools], usernames: [admin]}
overrides:
  - namespaces: [legacy]
    mode: audit
)");
    CHECK(policy.mode == Mode::kWarn);
    CHECK(policy.catalog_directory == "cat/");
    CHECK(policy.catalog_prefix == "gate");
    CHECK_FALSE(policy.allow_runtime_default);
    CHECK(policy.allow_unset);
    REQUIRE(policy.default_profile.has_value());
    CHECK(policy.default_profile->localhost_profile == "profiles/default.json");
    CHECK(policy.permissive_profiles == Action::kDeny);
    CHECK(policy.privileged == Action::kAllow);
    CHECK(policy.mutate_templates);
    CHECK(policy.is_exempt("tools", ""));
    CHECK(policy.is_exempt("shop", "admin"));
    CHECK_FALSE(policy.is_exempt("shop", "alice"));
    CHECK_FALSE(policy.is_exempt("", ""));
    CHECK(policy.mode_for("legacy") == Mode::kAudit);
    CHECK(policy.mode_for("shop") == Mode::kWarn);
}

TEST_CASE("load errors name the file, the line and the key") {
    struct Case {
        std::string text;
        std::string expected;
    };
    const std::string h = kHeader;
    const std::vector<Case> cases{
        {h + "mdoe: enforce\n", "p.yaml:3: mdoe: unknown key"},
        {h + "mode: enforce\nmode: audit\n", "p.yaml:4: mode: duplicate key"},
        {h + "catalog: {directory: c, directory: d}\n", "p.yaml:3: catalog.directory: duplicate key"},
        {h + "mode: strict\n", R"(p.yaml:3: mode: "strict" is not one of enforce, warn, audit)"},
        {h + "allowUnset: yes please\n", "p.yaml:3: allowUnset: must be true or false"},
        {h + "catalog: {directory: c, prefx: x}\n", "p.yaml:3: catalog.prefx: unknown key"},
        {h + "catalog: {prefix: ../x}\n",
         R"(p.yaml:3: catalog.prefix: must be a relative path without "..")"},
        {h + "defaultProfile: {type: Unconfined}\n",
         R"(p.yaml:3: defaultProfile.type: "Unconfined" is not one of RuntimeDefault, Localhost)"},
        {h + "defaultProfile: {type: Localhost}\n",
         "p.yaml:3: defaultProfile.localhostProfile: is required for type Localhost"},
        {h + "privileged: maybe\n",
         R"(p.yaml:3: privileged: "maybe" is not one of allow, warn, deny)"},
        {h + "exemptions: {namespaces: kube-system}\n",
         "p.yaml:3: exemptions.namespaces: must be a list of strings"},
        {h + "exemptions: {users: [a]}\n", "p.yaml:3: exemptions.users: unknown key"},
        {h + "overrides: [{namespaces: [a]}]\n", "p.yaml:3: overrides[0].mode: is required"},
        {h + "overrides: [{namespaces: [a], mode: off}]\n",
         R"(p.yaml:3: overrides[0].mode: "off" is not one of enforce, warn, audit)"},
        {"kind: Policy\n", "p.yaml:1: apiVersion: is required (seccomp-gate/v1)"},
        {"apiVersion: v2\nkind: Policy\n", "p.yaml:1: apiVersion: must be seccomp-gate/v1"},
        {"apiVersion: seccomp-gate/v1\nkind: Config\n", "p.yaml:2: kind: must be Policy"},
        {"", "p.yaml: empty policy file"},
        {"[1, 2]", "p.yaml:1: (top level): must be a mapping"},
        {h + "mode: [\n", "p.yaml:4: not valid YAML: end of sequence flow not found"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        CHECK(error_of(c.text) == c.expected);
    }
}

}  // namespace
}  // namespace seccomp_gate
