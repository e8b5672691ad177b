// Mutation plans, RFC 6902 documents and their encoding.

#include "policy/mutation.h"

#include "policy/base64.h"
#include "rule_support.h"

namespace seccomp_gate::testing {
namespace {

PolicyConfig policy_with_default() {
    PolicyConfig policy;
    policy.default_profile = DefaultProfile{seccomp_gate::ProfileType::kLocalhost, "profiles/default.json"};
    policy.mutate_templates = true;
    return policy;
}

TEST_CASE("base64 with padding (RFC 4648 test vectors)") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("JSON pointer segments are escaped") {
    CHECK(escape_pointer_segment("a/b~c") == "a~1b~0c");
    CHECK(escape_pointer_segment("spec") == "spec");
}

TEST_CASE("the patch creates securityContext only when it is absent") {
    const PolicyConfig policy = policy_with_default();
    const Object bare = decode_json(pod(R"({"containers":[{"name":"a"}]})"));
    auto patches = plan_mutation(policy, bare, {true, false});
    CHECK(
        patch_document(policy, patches) ==
        R"([{"op":"add","path":"/spec/securityContext","value":{"seccompProfile":{"type":"Localhost","localhostProfile":"profiles/default.json"}}}])");

    const Object with_context = decode_json(
        pod(R"({"securityContext":{"runAsNonRoot":true},"containers":[{"name":"a"}]})"));
    patches = plan_mutation(policy, with_context, {true, false});
    CHECK(
        patch_document(policy, patches) ==
        R"([{"op":"add","path":"/spec/securityContext/seccompProfile","value":{"type":"Localhost","localhostProfile":"profiles/default.json"}}])");
}

TEST_CASE("no patch where nothing needs one") {
    const PolicyConfig policy = policy_with_default();
    const std::vector<std::string> specs{
        R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"a"}]})",
        R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}]})",
        R"({"os":{"name":"windows"},"containers":[{"name":"a"}]})",
        R"({"securityContext":"broken","containers":[{"name":"a"}]})",
        R"({"containers":[]})",
    };
    for (const auto& spec : specs) {
        CAPTURE(spec);
        CHECK(plan_mutation(policy, decode_json(pod(spec)), {true, true}).empty());
    }
    // Pods outside the scope (an UPDATE), and no defaultProfile at all.
    const Object bare = decode_json(pod(R"({"containers":[{"name":"a"}]})"));
    CHECK(plan_mutation(policy, bare, {false, true}).empty());
    CHECK(plan_mutation(PolicyConfig{}, bare, {true, true}).empty());
}

TEST_CASE("templates are patched at their own paths, and applying a plan is idempotent") {
    PolicyConfig policy = policy_with_default();
    policy.default_profile = DefaultProfile{seccomp_gate::ProfileType::kRuntimeDefault, ""};
    Object cronjob = decode_json(
        R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},"spec":{"jobTemplate":
            {"spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}}}})",
        "batch", "CronJob");
    auto patches = plan_mutation(policy, cronjob, {false, true});
    CHECK(
        patch_document(policy, patches) ==
        R"([{"op":"add","path":"/spec/jobTemplate/spec/template/spec/securityContext","value":{"seccompProfile":{"type":"RuntimeDefault"}}}])");
    CHECK(plan_mutation(policy, cronjob, {true, false}).empty());

    apply_mutation(policy, patches, cronjob);
    CHECK(cronjob.pod_specs[0].seccomp->type == seccomp_gate::ProfileType::kRuntimeDefault);
    CHECK(plan_mutation(policy, cronjob, {true, true}).empty());

    const Object pod_template = decode_json(
        R"({"apiVersion":"v1","kind":"PodTemplate","template":{"spec":{"containers":[{"name":"a"}]}}})",
        "", "PodTemplate");
    patches = plan_mutation(policy, pod_template, {false, true});
    REQUIRE(patches.size() == 1);
    CHECK(patches[0].path == "/template/spec/securityContext");
}

}  // namespace
}  // namespace seccomp_gate::testing
