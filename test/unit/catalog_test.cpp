// The catalog: which files become profiles, under which names, and why others are left out.

#include "policy/catalog.h"

#include <doctest/doctest.h>

#include "policy/snapshot.h"

namespace seccomp_gate {
namespace {

std::string check(const std::string& json) { return check_profile(json).error; }

TEST_CASE("clean_profile_path") {
    CHECK(clean_profile_path("profiles/web.json") == "profiles/web.json");
    CHECK(clean_profile_path("./profiles//web.json") == "profiles/web.json");
    CHECK(clean_profile_path("profiles/./web.json/") == "profiles/web.json");
    CHECK_FALSE(clean_profile_path("/profiles/web.json").has_value());
    CHECK_FALSE(clean_profile_path("profiles/../web.json").has_value());
    CHECK_FALSE(clean_profile_path("..").has_value());
    CHECK_FALSE(clean_profile_path("").has_value());
    CHECK_FALSE(clean_profile_path("./").has_value());
    CHECK(clean_profile_path("a..b/c") == "a..b/c");  // only whole ".." segments escape
}

TEST_CASE("profile checks: what a runtime would refuse stays out of the catalog") {
    struct Case {
        std::string json;
        std::string error;
    };
    // check_profile is the linter's verdict: its errors (field, message, check id), warnings
    // ignored. The linter's own tests (profile_lint_test.cpp) cover every check.
    const std::vector<Case> cases{
        {R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
             "flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":1,"valueTwo":0,"op":"SCMP_CMP_EQ"}]}]})",
         ""},
        // Docker's old "name": a warning (containerd ignores it), not an error.
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","action":"SCMP_ACT_ALLOW"}]})",
         ""},
        {"{",
         "not valid JSON: line 1, column 2: syntax error while parsing object key - unexpected end "
         "of input; expected string literal [json]"},
        {"[]", "a profile must be a JSON object, not array [schema]"},
        {"{}", "defaultAction: is required [schema]"},
        {R"({"defaultAction":"ALLOW"})",
         R"(defaultAction: "ALLOW" is not a seccomp action [unknown-action])"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultaction":"x"})",
         R"(defaultaction: unknown field "defaultaction" (not in the runtime format) [schema])"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1})",
         "defaultErrnoRet: must be an errno number from 0 to 4095, not -1 [schema]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":"SCMP_ARCH_X86_64"})",
         R"(architectures: must be a list of strings, not string "SCMP_ARCH_X86_64" [schema])"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":{}})",
         "syscalls: must be a list of rules, not object [schema]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ALLOW"}]})",
         R"(syscalls[0]: has no "names": the rule applies to no system call [empty-names])"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]})",
         "syscalls[0].names: is empty: the rule applies to no system call [empty-names]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]})",
         "syscalls[0].action: is required [schema]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_PERMIT"}]})",
         R"(syscalls[0].action: "SCMP_ACT_PERMIT" is not a seccomp action [unknown-action])"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]})",
         "syscalls[0].args[0].index: 6 is not an argument index: system calls have arguments 0 "
         "to 5 [arg-index]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":4294967296,"value":0,"op":"SCMP_CMP_EQ"}]}]})",
         "syscalls[0].args[0].index: 4294967296 is not an argument index: system calls have "
         "arguments 0 to 5 [arg-index]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"EQ"}]}]})",
         R"(syscalls[0].args[0].op: "EQ" is not an operator (SCMP_CMP_NE, SCMP_CMP_LT, )"
         "SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ) [arg-op]"},
        // Checks the old schema-only loader did not have: a runtime would not build these.
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["raed"],"action":"SCMP_ACT_ALLOW"}]})",
         R"(syscalls[0].names[0]: "raed" is not a system call on any architecture (libseccomp )"
         "2.5.4) [unknown-syscall]"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]})",
         R"(syscalls[0].action: SCMP_ACT_NOTIFY needs "listenerPath", the seccomp agent's socket )"
         "(runc refuses the profile without it) [notify]"},
        // Many errors: the first three, and how many more.
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a1","a2","a3","a4","a5"],"action":"SCMP_ACT_ALLOW"}]})",
         R"(syscalls[0].names[0]: "a1" is not a system call on any architecture (libseccomp )"
         R"(2.5.4) [unknown-syscall]; syscalls[0].names[1]: "a2" is not a system call on any )"
         R"(architecture (libseccomp 2.5.4) [unknown-syscall]; syscalls[0].names[2]: "a3" is )"
         "not a system call on any architecture (libseccomp 2.5.4) [unknown-syscall]; and 2 more "
         "errors"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.json);
        CHECK(check(c.json) == c.error);
    }
    CHECK(check_profile(R"({"defaultAction":"SCMP_ACT_LOG"})").permissive);
    CHECK(check_profile(R"({"defaultAction":"SCMP_ACT_ALLOW"})").permissive);
    CHECK_FALSE(check_profile(R"({"defaultAction":"SCMP_ACT_KILL_PROCESS"})").permissive);
}

TEST_CASE("build_catalog names profiles prefix/path and reports what it leaves out") {
    const std::vector<CatalogFile> files{
        {"web.json", R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""},
        {"team/./api.json", R"({"defaultAction":"SCMP_ACT_LOG"})", ""},
        {"broken.json", "{not json", ""},
        {"huge.json", "", "larger than 1048576 bytes"},
    };
    const CatalogSnapshot catalog = build_catalog("gate", files);
    CHECK(catalog.profiles().size() == 2);
    REQUIRE(catalog.find("gate/web.json") != nullptr);
    REQUIRE(catalog.find("gate/team/api.json") != nullptr);
    CHECK(catalog.find("gate/team/api.json")->permissive);
    CHECK(catalog.find("web.json") == nullptr);
    REQUIRE(catalog.rejected().size() == 2);
    CHECK(catalog.rejected()[0].file == "broken.json");
    CHECK(catalog.rejected()[0].reason ==
          "not valid JSON: line 1, column 3: syntax error while parsing object key - invalid "
          "literal; last read: '{no'; expected string literal [json]");
    CHECK(catalog.rejected()[1].reason == "larger than 1048576 bytes");
}

TEST_CASE("a Localhost defaultProfile must be in the catalog") {
    PolicyConfig policy;
    policy.default_profile = DefaultProfile{seccomp_gate::ProfileType::kLocalhost, "./profiles/default.json"};
    const auto catalog =
        build_catalog("", {{"profiles/default.json", R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""}});
    const auto snapshot = make_snapshot(policy, catalog, "p.yaml");
    CHECK(snapshot->policy.default_profile->localhost_profile == "profiles/default.json");

    policy.default_profile = DefaultProfile{seccomp_gate::ProfileType::kLocalhost, "profiles/missing.json"};
    CHECK_THROWS_WITH_AS(
        make_snapshot(policy, catalog, "p.yaml"),
        R"(p.yaml: defaultProfile.localhostProfile: "profiles/missing.json" is not in the catalog (1 profiles loaded))",
        ConfigError);
}

}  // namespace
}  // namespace seccomp_gate
