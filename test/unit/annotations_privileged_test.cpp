// Rules 6 and 7, and fields that cannot be read.

#include "rule_support.h"

namespace seccomp_gate::testing {
namespace {

const std::string kConfined =
    R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"web"}]})";

TEST_CASE("rule 6: legacy seccomp annotations never set a profile") {
    struct Case {
        const char* annotations;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases{
        {R"({"seccomp.security.alpha.kubernetes.io/pod":"unconfined"})",
         {R"(violation metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: pod must not ask for "unconfined" in annotation seccomp.security.alpha.kubernetes.io/pod (legacy annotations are ignored by kubelets, and seccompProfile.type "Unconfined" is not allowed either))"}},
        {R"({"container.seccomp.security.alpha.kubernetes.io/web":"unconfined"})",
         {R"(violation metadata.annotations[container.seccomp.security.alpha.kubernetes.io/web]: container "web" must not ask for "unconfined" in annotation container.seccomp.security.alpha.kubernetes.io/web (legacy annotations are ignored by kubelets, and seccompProfile.type "Unconfined" is not allowed either))"}},
        {R"({"seccomp.security.alpha.kubernetes.io/pod":"runtime/default"})",
         {R"(warning metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: pod sets annotation seccomp.security.alpha.kubernetes.io/pod to "runtime/default", which kubelets ignore: set securityContext.seccompProfile instead)"}},
        {R"({"container.seccomp.security.alpha.kubernetes.io/web":"localhost/profiles/web.json"})",
         {R"(warning metadata.annotations[container.seccomp.security.alpha.kubernetes.io/web]: container "web" sets annotation container.seccomp.security.alpha.kubernetes.io/web to "localhost/profiles/web.json", which kubelets ignore: set securityContext.seccompProfile instead)"}},
        {R"({"example.com/seccomp":"unconfined"})", {}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.annotations);
        CHECK(texts(findings_for("", pod(kConfined, c.annotations))) == c.expected);
    }
}

TEST_CASE("rule 6: template annotations are read at the template's metadata") {
    const std::string deployment =
        R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
        "spec":{"template":{"metadata":{"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined"}},
        "spec":)" +
        kConfined + "}}}";
    const auto findings = findings_for("", deployment, "apps", "Deployment");
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].path ==
          "spec.template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]");
}

TEST_CASE("rule 7: privileged follows the privileged action") {
    const std::string spec = R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},
        "containers":[{"name":"a"},{"name":"root","securityContext":{"privileged":true}},
                      {"name":"b","securityContext":{"privileged":false}}]})";
    const std::string text =
        R"(spec.containers[1].securityContext.privileged: container "root" is privileged, so it runs unconfined whatever its seccomp profile)";
    CHECK(texts(findings_for("", pod(spec))) == std::vector<std::string>{"warning " + text});
    CHECK(texts(findings_for("privileged: warn\n", pod(spec))) ==
          std::vector<std::string>{"warning " + text});
    CHECK(texts(findings_for("privileged: deny\n", pod(spec))) ==
          std::vector<std::string>{"violation " + text});
    CHECK(findings_for("privileged: allow\n", pod(spec)).empty());
}

TEST_CASE("fields that cannot be read fail closed") {
    struct Case {
        std::string spec;
        std::string expected;
    };
    const std::vector<Case> cases{
        {R"({"containers":{"name":"a"}})",
         "violation spec.containers: must be a list of containers"},
        {R"({"containers":["a"]})", "violation spec.containers[0]: must be a container object"},
        {R"({"securityContext":"x","containers":[]})",
         "violation spec.securityContext: must be an object"},
        {R"({"containers":[{"name":"a","securityContext":[]}]})",
         "violation spec.containers[0].securityContext: must be an object"},
        {R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":7}}}]})",
         R"(violation spec.containers[0].securityContext.seccompProfile: container "a" has a malformed seccompProfile: its type must be a string)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.spec);
        const auto found = texts(findings_for("allowUnset: true\n", pod(c.spec)));
        REQUIRE(!found.empty());
        CHECK(found[0] == c.expected);
    }
}

TEST_CASE("null fields are unset, not malformed") {
    CHECK(findings_for("", pod(R"({"securityContext":{"seccompProfile":null},
        "containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}]})"))
              .empty());
}

}  // namespace
}  // namespace seccomp_gate::testing
