// Rules 1-5: one table per rule, exact paths and messages.

#include "rule_support.h"

namespace seccomp_gate::testing {
namespace {

struct Case {
    const char* name;
    std::string policy;
    std::string spec;
    std::vector<Expected> expected;
};

constexpr auto V = Severity::kViolation;
constexpr auto W = Severity::kWarning;

void run(const std::vector<Case>& cases) {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(texts(findings_for(c.policy, pod(c.spec))) == texts(c.expected));
    }
}

TEST_CASE("rule 1: Unconfined at pod or container level is a violation") {
    run({
        {"container level",
         "",
         R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}},
                           {"name":"c","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]})",
         {{V,
           R"(spec.containers[1].securityContext.seccompProfile.type: container "c" must not set seccompProfile.type to "Unconfined")"}}},
        {"pod level, inherited",
         "",
         R"({"securityContext":{"seccompProfile":{"type":"Unconfined"}},
             "initContainers":[{"name":"init"}],"containers":[{"name":"a"},{"name":"b"}]})",
         {{V,
           R"(spec.securityContext.seccompProfile.type: pod must not set seccompProfile.type to "Unconfined" (inherited by containers "init", "a", "b"))"}}},
        {"pod level, every container overrides it",
         "",
         R"({"securityContext":{"seccompProfile":{"type":"Unconfined"}},
             "containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}]})",
         {{V,
           R"(spec.securityContext.seccompProfile.type: pod must not set seccompProfile.type to "Unconfined" (even though every container sets its own profile))"}}},
        {"ephemeral container",
         "",
         R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"a"}],
             "ephemeralContainers":[{"name":"debug","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]})",
         {{V,
           R"(spec.ephemeralContainers[0].securityContext.seccompProfile.type: container "debug" must not set seccompProfile.type to "Unconfined")"}}},
    });
}

TEST_CASE("rule 2: an unknown type fails closed") {
    run({
        {"unknown type",
         "",
         R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"Custom"}}}]})",
         {{V,
           R"(spec.containers[0].securityContext.seccompProfile.type: container "a" sets seccompProfile.type to unknown value "Custom" (allowed: RuntimeDefault, Localhost))"}}},
        {"case matters",
         "allowRuntimeDefault: false\n",
         R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"runtimedefault"}}}]})",
         {{V,
           R"(spec.containers[0].securityContext.seccompProfile.type: container "a" sets seccompProfile.type to unknown value "runtimedefault" (allowed: Localhost))"}}},
        {"type missing",
         "",
         R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"localhostProfile":"profiles/web.json"}}}]})",
         {{V,
           R"(spec.containers[0].securityContext.seccompProfile: container "a" has a malformed seccompProfile: it has no type)"}}},
        {"not an object",
         "",
         R"({"containers":[{"name":"a","securityContext":{"seccompProfile":"RuntimeDefault"}}]})",
         {{V,
           R"(spec.containers[0].securityContext.seccompProfile: container "a" has a malformed seccompProfile: it must be an object with a type)"}}},
    });
}

TEST_CASE("rule 3: RuntimeDefault follows allowRuntimeDefault") {
    const std::string spec =
        R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}]})";
    run({
        {"allowed by default", "", spec, {}},
        {"disallowed",
         "allowRuntimeDefault: false\n",
         spec,
         {{V,
           R"(spec.containers[0].securityContext.seccompProfile.type: container "a" must not set seccompProfile.type to "RuntimeDefault" (allowRuntimeDefault is false: use a Localhost profile from the catalog))"}}},
    });
}

TEST_CASE("rule 4: Localhost profiles must be relative, clean and in the catalog") {
    const auto localhost = [](const std::string& profile) {
        return R"({"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"Localhost")" +
               (profile.empty() ? std::string() : R"(,"localhostProfile":")" + profile + "\"") +
               "}}}]}";
    };
    const std::string field =
        "spec.containers[0].securityContext.seccompProfile.localhostProfile: ";
    run({
        {"in the catalog", "", localhost("profiles/web.json"), {}},
        {"./ and // are cleaned up", "", localhost("./profiles//web.json"), {}},
        {"missing localhostProfile",
         "",
         localhost(""),
         {{V,
           field +
               R"(container "a" sets seccompProfile.type "Localhost" without a localhostProfile)"}}},
        {"absolute",
         "",
         localhost("/var/lib/kubelet/seccomp/profiles/web.json"),
         {{V,
           field +
               R"(container "a" sets localhostProfile "/var/lib/kubelet/seccomp/profiles/web.json", which must be a relative path)"}}},
        {"dot-dot",
         "",
         localhost("profiles/../../etc/passwd"),
         {{V,
           field +
               R"(container "a" sets localhostProfile "profiles/../../etc/passwd", which must not contain ".." segments)"}}},
        {"not in the catalog",
         "",
         localhost("profiles/redis.json"),
         {{V,
           field +
               R"(container "a" uses Localhost profile "profiles/redis.json", which is not in the profile catalog)"}}},
        {"cleaned name shown",
         "",
         localhost("./profiles/redis.json"),
         {{V,
           field +
               R"(container "a" uses Localhost profile "./profiles/redis.json" (profiles/redis.json), which is not in the profile catalog)"}}},
        {"permissive: warn (default)",
         "",
         localhost("profiles/audit.json"),
         {{W,
           field +
               R"(container "a" uses permissive profile "profiles/audit.json" (defaultAction SCMP_ACT_LOG blocks nothing))"}}},
        {"permissive: deny",
         "permissiveProfiles: deny\n",
         localhost("profiles/audit.json"),
         {{V,
           field +
               R"(container "a" uses permissive profile "profiles/audit.json" (defaultAction SCMP_ACT_LOG blocks nothing))"}}},
        {"permissive: allow", "permissiveProfiles: allow\n", localhost("profiles/audit.json"), {}},
    });
}

TEST_CASE("rule 5: a container without a profile") {
    const std::string spec = R"({"initContainers":[{"name":"i"}],"containers":[{"name":"a"},
        {"name":"b","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}]})";
    run({
        {"unset is a violation per container",
         "",
         spec,
         {{V,
           R"(spec.initContainers[0].securityContext.seccompProfile: container "i" has no seccomp profile (set securityContext.seccompProfile on the container or at spec.securityContext.seccompProfile))"},
          {V,
           R"(spec.containers[0].securityContext.seccompProfile: container "a" has no seccomp profile (set securityContext.seccompProfile on the container or at spec.securityContext.seccompProfile))"}}},
        {"allowUnset", "allowUnset: true\n", spec, {}},
        {"pod level covers it",
         "",
         R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"a"}]})",
         {}},
        {"a Pod is not excused by defaultProfile",
         "defaultProfile: {type: RuntimeDefault}\n",
         R"({"containers":[{"name":"a"}]})",
         {{V,
           R"(spec.containers[0].securityContext.seccompProfile: container "a" has no seccomp profile (set securityContext.seccompProfile on the container or at spec.securityContext.seccompProfile))"}}},
    });
}

TEST_CASE("rule 5: templates are excused when a defaultProfile will be mutated in") {
    const std::string deployment =
        R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"ns"},
            "spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}})";
    CHECK(texts(findings_for("defaultProfile: {type: RuntimeDefault}\n", deployment, "apps",
                             "Deployment"))
              .empty());
    CHECK(
        texts(findings_for("", deployment, "apps", "Deployment")) ==
        std::vector<std::string>{
            R"(violation spec.template.spec.containers[0].securityContext.seccompProfile: container "a" has no seccomp profile (set securityContext.seccompProfile on the container or at spec.template.spec.securityContext.seccompProfile))"});
}

TEST_CASE("rule 8: Windows pods are not judged") {
    run({{"windows",
          "",
          R"({"os":{"name":"windows"},"containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]})",
          {}},
         {"linux is",
          "",
          R"({"os":{"name":"linux"},"containers":[{"name":"a"}]})",
          {{V,
            R"(spec.containers[0].securityContext.seccompProfile: container "a" has no seccomp profile (set securityContext.seccompProfile on the container or at spec.securityContext.seccompProfile))"}}}});
}

TEST_CASE("every workload kind is judged at its template path") {
    struct Kind {
        const char* group;
        const char* kind;
        std::string object;
        const char* path;
    };
    const std::string bad =
        R"({"spec":{"containers":[{"name":"c","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]}})";
    const std::vector<Kind> kinds{
        {"", "PodTemplate", R"({"template":)" + bad + "}", "template.spec"},
        {"", "ReplicationController", R"({"spec":{"template":)" + bad + "}}", "spec.template.spec"},
        {"apps", "ReplicaSet", R"({"spec":{"template":)" + bad + "}}", "spec.template.spec"},
        {"apps", "Deployment", R"({"spec":{"template":)" + bad + "}}", "spec.template.spec"},
        {"apps", "StatefulSet", R"({"spec":{"template":)" + bad + "}}", "spec.template.spec"},
        {"apps", "DaemonSet", R"({"spec":{"template":)" + bad + "}}", "spec.template.spec"},
        {"batch", "Job", R"({"spec":{"template":)" + bad + "}}", "spec.template.spec"},
        {"batch", "CronJob", R"({"spec":{"jobTemplate":{"spec":{"template":)" + bad + "}}}}",
         "spec.jobTemplate.spec.template.spec"},
    };
    for (const auto& kind : kinds) {
        CAPTURE(kind.kind);
        CHECK(
            texts(findings_for("", kind.object, kind.group, kind.kind)) ==
            std::vector<std::string>{
                std::string("violation ") + kind.path +
                R"(.containers[0].securityContext.seccompProfile.type: container "c" must not set seccompProfile.type to "Unconfined")"});
    }
    // The same object under a kind that is not judged, or the right kind in another group.
    CHECK(findings_for("", kinds[3].object, "", "Deployment").empty());
    CHECK(findings_for("", kinds[3].object, "apps", "Scale").empty());
}

TEST_CASE("all violations of a pod are reported together, in field order") {
    const auto findings =
        findings_for("", pod(R"({"securityContext":{"seccompProfile":{"type":"Unconfined"}},
                    "containers":[{"name":"a","securityContext":{"seccompProfile":{"type":"Localhost","localhostProfile":"x.json"}}},
                                  {"name":"b","securityContext":{"privileged":true}}]})"));
    CHECK(
        texts(findings) ==
        std::vector<std::string>{
            R"(violation spec.securityContext.seccompProfile.type: pod must not set seccompProfile.type to "Unconfined" (inherited by container "b"))",
            R"(violation spec.containers[0].securityContext.seccompProfile.localhostProfile: container "a" uses Localhost profile "x.json", which is not in the profile catalog)",
            R"(warning spec.containers[1].securityContext.privileged: container "b" is privileged, so it runs unconfined whatever its seccomp profile)"});
    CHECK(findings[1].container == "a");
    CHECK(findings[1].rule == "localhost");
}

}  // namespace
}  // namespace seccomp_gate::testing
