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
    const std::vector<Case> cases{
        {R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
             "flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":1,"valueTwo":0,"op":"SCMP_CMP_EQ"}]}]})",
         ""},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","action":"SCMP_ACT_ALLOW"}]})",
         ""},
        {"{", "not valid JSON"},
        {"[]", "a profile must be a JSON object"},
        {"{}", "defaultAction: is required"},
        {R"({"defaultAction":"ALLOW"})", R"(defaultAction: "ALLOW" is not a seccomp action)"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultaction":"x"})",
         R"(unknown field "defaultaction")"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1})",
         "defaultErrnoRet: must be a non-negative integer"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":"SCMP_ARCH_X86_64"})",
         "architectures: must be a list of strings"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":{}})", "syscalls: must be a list"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ALLOW"}]})",
         R"(syscalls[0]: needs "names")"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]})",
         "syscalls[0].names: must be a non-empty list of syscall names"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]})",
         R"(syscalls[0]: needs "action")"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_PERMIT"}]})",
         R"(syscalls[0].action: "SCMP_ACT_PERMIT" is not a seccomp action)"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]})",
         "syscalls[0].args[0].index: must be 0 to 5"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":4294967296,"value":0,"op":"SCMP_CMP_EQ"}]}]})",
         "syscalls[0].args[0].index: must be 0 to 5"},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"EQ"}]}]})",
         "syscalls[0].args[0].op: must be one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
         "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ"},
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
    CHECK(catalog.rejected()[0].reason == "not valid JSON");
    CHECK(catalog.rejected()[1].reason == "larger than 1048576 bytes");
}

TEST_CASE("a Localhost defaultProfile must be in the catalog") {
    PolicyConfig policy;
    policy.default_profile = DefaultProfile{"Localhost", "./profiles/default.json"};
    const auto catalog =
        build_catalog("", {{"profiles/default.json", R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""}});
    const auto snapshot = make_snapshot(policy, catalog, "p.yaml");
    CHECK(snapshot->policy.default_profile->localhost_profile == "profiles/default.json");

    policy.default_profile = DefaultProfile{"Localhost", "profiles/missing.json"};
    CHECK_THROWS_WITH_AS(
        make_snapshot(policy, catalog, "p.yaml"),
        R"(p.yaml: defaultProfile.localhostProfile: "profiles/missing.json" is not in the catalog (1 profiles loaded))",
        ConfigError);
}

}  // namespace
}  // namespace seccomp_gate
