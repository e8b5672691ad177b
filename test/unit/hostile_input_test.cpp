// Hostile and real-world input (issue 9): bounded answers whatever the request, duplicate keys,
// dispatch on the resource, legacy API groups and policies that contradict themselves. Each case
// failed before its fix.

#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "policy/admission.h"
#include "policy/decode.h"
#include "policy/evaluate.h"
#include "policy/io/files.h"
#include "policy/manifests.h"
#include "policy/text.h"
#include "test_support.h"

namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using seccomp_gate::Endpoint;
using seccomp_gate::Verdict;
using seccomp_gate::testing::make_test_snapshot;

ordered_json pod_review(ordered_json pod, const std::string& operation = "CREATE") {
    return {{"apiVersion", "admission.k8s.io/v1"},
            {"kind", "AdmissionReview"},
            {"request",
             {{"uid", "u-1"},
              {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
              {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
              {"operation", operation},
              {"namespace", "shop"},
              {"name", "web"},
              {"object", std::move(pod)}}}};
}

ordered_json pod_with(ordered_json containers, ordered_json pod_context = ordered_json::object()) {
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", "web"}, {"namespace", "shop"}}},
            {"spec", {{"securityContext", std::move(pod_context)}, {"containers", containers}}}};
}

ordered_json unconfined_containers(std::size_t count) {
    ordered_json containers = ordered_json::array();
    for (std::size_t i = 0; i < count; ++i) {
        containers.push_back({{"name", "c" + std::to_string(i)},
                              {"securityContext", {{"seccompProfile", {{"type", "Unconfined"}}}}}});
    }
    return containers;
}

struct Answer {
    seccomp_gate::ReviewOutcome outcome;
    json response;  // AdmissionReview.response
};

Answer send(const std::string& body, const std::string& policy = "",
            Endpoint endpoint = Endpoint::kValidate) {
    const auto snapshot = make_test_snapshot(policy);
    Answer answer{seccomp_gate::review(*snapshot, body, endpoint), {}};
    REQUIRE(answer.outcome.verdict != Verdict::kNotJson);
    answer.response = json::parse(answer.outcome.response).at("response");
    return answer;
}

Answer send(const ordered_json& review, const std::string& policy = "",
            Endpoint endpoint = Endpoint::kValidate) {
    return send(review.dump(), policy, endpoint);
}

std::string message_of(const Answer& answer) {
    return answer.response.at("status").at("message").get<std::string>();
}

// Splits a denial message into its findings at "; " outside quoted values.
std::vector<std::string> split_findings(const std::string& text) {
    std::vector<std::string> out(1);
    bool in_quotes = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_quotes && c == '\\' && i + 1 < text.size()) {
            out.back() += text.substr(i, 2);
            ++i;
            continue;
        }
        if (c == '"') in_quotes = !in_quotes;
        if (!in_quotes && c == ';' && i + 1 < text.size() && text[i + 1] == ' ') {
            out.emplace_back();
            ++i;
            continue;
        }
        out.back() += c;
    }
    return out;
}

}  // namespace

TEST_CASE("a pod spec with more containers than the limit is refused unread with a 400") {
    ordered_json empty = ordered_json::array();
    for (std::size_t i = 0; i <= seccomp_gate::kMaxContainersPerPod; ++i) {
        empty.push_back(ordered_json::object());
    }
    const Answer answer = send(pod_review(pod_with(empty)));
    CHECK(answer.outcome.verdict == Verdict::kInvalid);
    CHECK(answer.response.at("allowed") == false);
    CHECK(answer.response.at("status").at("code") == 400);
    CHECK(message_of(answer) ==
          "not a usable AdmissionReview: spec has 1001 containers, more than the 1000 a pod "
          "spec may have (initContainers, containers and ephemeralContainers together)");
    CHECK(answer.outcome.response.size() < 1024);
}

TEST_CASE("the container limit counts the three lists together and allows the limit itself") {
    ordered_json pod = pod_with(unconfined_containers(400));
    pod["spec"]["initContainers"] = unconfined_containers(400);
    pod["spec"]["ephemeralContainers"] = unconfined_containers(200);
    const Answer at_limit = send(pod_review(pod));
    CHECK(at_limit.outcome.verdict == Verdict::kDenied);
    CHECK(at_limit.outcome.violations == 1000);
    pod["spec"]["ephemeralContainers"].push_back(ordered_json::object());
    CHECK(send(pod_review(pod)).outcome.verdict == Verdict::kInvalid);
}

TEST_CASE("annotations over the API server's 256 KiB are refused unread") {
    ordered_json pod = pod_with(unconfined_containers(1));
    ordered_json annotations = ordered_json::object();
    for (int i = 0; i < 3000; ++i) {
        annotations["container.seccomp.security.alpha.kubernetes.io/c" + std::to_string(i)] =
            std::string(80, 'x');
    }
    pod["metadata"]["annotations"] = annotations;
    const Answer answer = send(pod_review(pod));
    CHECK(answer.outcome.verdict == Verdict::kInvalid);
    CHECK(message_of(answer).find("metadata.annotations holds ") != std::string::npos);
    CHECK(message_of(answer).find("limit of 262144") != std::string::npos);
}

TEST_CASE("a denial reports the first 32 violations in full, then how many more") {
    const Answer answer = send(pod_review(pod_with(unconfined_containers(100))));
    CHECK(answer.outcome.verdict == Verdict::kDenied);
    CHECK(answer.outcome.violations == 100);
    const auto findings = split_findings(message_of(answer));
    REQUIRE(findings.size() == 33);
    CHECK(findings[0] ==
          "Pod/shop/web violates the seccomp policy: spec.containers[0].securityContext."
          "seccompProfile.type: container \"c0\" must not set seccompProfile.type to "
          "\"Unconfined\"");
    CHECK(findings[31] ==
          "spec.containers[31].securityContext.seccompProfile.type: container \"c31\" must not "
          "set seccompProfile.type to \"Unconfined\"");
    CHECK(findings[32] == "and 68 more violations");
}

TEST_CASE("warn mode keeps at most 32 warnings, the last one counting the rest") {
    const Answer answer = send(pod_review(pod_with(unconfined_containers(100))), "mode: warn\n");
    CHECK(answer.outcome.verdict == Verdict::kAllowed);
    const auto& warnings = answer.response.at("warnings");
    REQUIRE(warnings.size() == 32);
    CHECK(warnings[0].get<std::string>().starts_with("would be denied: spec.containers[0]."));
    CHECK(warnings[30].get<std::string>().starts_with("would be denied: spec.containers[30]."));
    CHECK(warnings[31] == "and 69 more warnings");
}

TEST_CASE("audit mode's annotation is capped the same way") {
    const Answer answer = send(pod_review(pod_with(unconfined_containers(40))), "mode: audit\n");
    const std::string violations =
        answer.response.at("auditAnnotations").at("violations").get<std::string>();
    CHECK(split_findings(violations).size() == 33);
    CHECK(violations.ends_with("; and 8 more violations"));
}

TEST_CASE("values from the request are quoted, escaped and cut in messages") {
    ordered_json containers = ordered_json::array();
    containers.push_back(
        {{"name", std::string(1 << 20, 'n')},
         {"securityContext",
          {{"seccompProfile",
            {{"type", "Localhost"},
             {"localhostProfile", "a\"; spec.x: forged\n" + std::string(5000, 'p')}}}}}});
    containers.push_back({{"name", "odd; \"name\""},
                          {"securityContext", {{"seccompProfile", {{"type", "Unconfined"}}}}}});
    const Answer answer = send(pod_review(pod_with(containers)));
    CHECK(answer.outcome.verdict == Verdict::kDenied);
    CHECK(answer.outcome.response.size() < 4096);
    const auto findings = split_findings(message_of(answer));
    REQUIRE(findings.size() == 2);
    CHECK(findings[0].find("container \"nnnn") != std::string::npos);
    CHECK(findings[0].find("…\" (1048576 bytes) uses Localhost profile \"a\\\"; spec.x: forged\\n"
                           "pppp") != std::string::npos);
    CHECK(findings[1] ==
          "spec.containers[1].securityContext.seccompProfile.type: container "
          "\"odd; \\\"name\\\"\" must not set seccompProfile.type to \"Unconfined\"");
}

TEST_CASE("quoted() cuts at a character boundary and shown() leaves names alone") {
    const std::string accents(300, 'a');
    CHECK(seccomp_gate::quoted("web") == "\"web\"");
    CHECK(seccomp_gate::quoted(std::string(255, 'a') + "é") ==
          "\"" + std::string(255, 'a') + "…\" (257 bytes)");
    CHECK(seccomp_gate::quoted(accents).size() < 300);
    std::string escaped_quotes;
    for (int i = 0; i < 128; ++i) escaped_quotes += "\\\"";
    // The bound counts the escaped text: 128 of 200 quotes fit.
    CHECK(seccomp_gate::quoted(std::string(200, '"')) == "\"" + escaped_quotes + "…\" (200 bytes)");
    CHECK(seccomp_gate::shown("kube-system") == "kube-system");
    CHECK(seccomp_gate::shown("container.seccomp.security.alpha.kubernetes.io/app") ==
          "container.seccomp.security.alpha.kubernetes.io/app");
    CHECK(seccomp_gate::shown("a b") == "\"a b\"");
}

TEST_CASE("a uid longer than a UUID could be is refused, not echoed") {
    ordered_json review = pod_review(pod_with(unconfined_containers(1)));
    review["request"]["uid"] = std::string(1 << 20, 'u');
    const Answer answer = send(review);
    CHECK(answer.outcome.verdict == Verdict::kInvalid);
    CHECK(answer.response.at("uid") == "");
    CHECK(message_of(answer) ==
          "not a usable AdmissionReview: request.uid is 1048576 bytes long (at most 128)");
}

// ---- duplicate keys -----------------------------------------------------------------------

namespace {

struct DuplicateCase {
    const char* name;
    std::string body;
    std::string path;
};

std::string review_text(const std::string& request_members, const std::string& object) {
    return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",)"
           R"("kind":{"group":"","version":"v1","kind":"Pod"},)"
           R"("resource":{"group":"","version":"v1","resource":"pods"},)" +
           request_members + R"("object":)" + object + "}}";
}

std::string pod_text(const std::string& spec) {
    return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},)"
           R"("spec":)" +
           spec + "}";
}

const std::string kCreate = R"("operation":"CREATE","namespace":"shop",)";
const std::string kConfinedSpec =
    R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"c"}]})";

}  // namespace

TEST_CASE("a review with a duplicate key anywhere is refused with a 400 naming the key") {
    const std::vector<DuplicateCase> cases{
        {"seccompProfile type",
         review_text(kCreate, pod_text(R"({"containers":[{"name":"c","securityContext":)"
                                       R"({"seccompProfile":{"type":"RuntimeDefault",)"
                                       R"("type":"Unconfined"}}}]})")),
         "request.object.spec.containers[0].securityContext.seccompProfile.type"},
        {"a second object",
         review_text(kCreate, pod_text(kConfinedSpec) + R"(,"object":)" +
                                  pod_text(R"({"securityContext":{"seccompProfile":)"
                                           R"({"type":"Unconfined"}},"containers":[]})")),
         "request.object"},
        {"operation",
         review_text(R"("operation":"DELETE","operation":"CREATE","namespace":"shop",)",
                     pod_text(kConfinedSpec)),
         "request.operation"},
        {"namespace",
         review_text(R"("operation":"CREATE","namespace":"kube-system","namespace":"shop",)",
                     pod_text(kConfinedSpec)),
         "request.namespace"},
        {"securityContext",
         review_text(kCreate, pod_text(R"({"securityContext":{"seccompProfile":)"
                                       R"({"type":"RuntimeDefault"}},"securityContext":{},)"
                                       R"("containers":[{"name":"c"}]})")),
         "request.object.spec.securityContext"},
        {"privileged",
         review_text(kCreate, pod_text(R"({"securityContext":{"seccompProfile":)"
                                       R"({"type":"RuntimeDefault"}},"containers":[{"name":"c",)"
                                       R"("securityContext":{"privileged":false,)"
                                       R"("privileged":true}}]})")),
         "request.object.spec.containers[0].securityContext.privileged"},
        {"a key read among many members",
         review_text(kCreate, pod_text(R"({"securityContext":{"seccompProfile":)"
                                       R"({"type":"RuntimeDefault"}},"containers":[{"name":"c"}],)"
                                       R"("a1":1,"a2":1,"a3":1,"a4":1,"a5":1,"a6":1,"a7":1,)"
                                       R"("a8":1,"a9":1,"b1":1,"b2":1,"b3":1,"b4":1,"b5":1,)"
                                       R"("b6":1,"b7":1,"b8":1,"a3":2,"containers":[]})")),
         "request.object.spec.containers"},
        {"an annotation key",
         review_text(kCreate,
                     R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","annotations":)"
                     R"({"seccomp.security.alpha.kubernetes.io/pod":"runtime/default",)"
                     R"("seccomp.security.alpha.kubernetes.io/pod":"unconfined"}},"spec":)" +
                         kConfinedSpec + "}"),
         "request.object.metadata.annotations.seccomp.security.alpha.kubernetes.io/pod"},
    };
    for (const auto& item : cases) {
        const std::string name = item.name;
        CAPTURE(name);
        for (const auto endpoint : {Endpoint::kValidate, Endpoint::kMutate}) {
            const Answer answer = send(item.body, "privileged: deny\n", endpoint);
            CHECK(answer.outcome.verdict == Verdict::kInvalid);
            CHECK(answer.response.at("uid") == "u-1");
            CHECK(answer.response.at("status").at("code") == 400);
            CHECK(message_of(answer) ==
                  "not a usable AdmissionReview: duplicate key " + item.path +
                      " (a decoder that keeps the last value would read another request)");
        }
    }
}

TEST_CASE("the same review without the duplicate is judged as before") {
    const Answer answer = send(review_text(kCreate, pod_text(kConfinedSpec)));
    CHECK(answer.outcome.verdict == Verdict::kAllowed);
}

TEST_CASE("a duplicate of a key no decision reads changes nothing") {
    const Answer answer = send(review_text(
        kCreate, pod_text(R"({"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},)"
                          R"("containers":[{"name":"c","env":[{"name":"A","value":"1",)"
                          R"("value":"2"}]}],"a3":1,"a3":2})")));
    CHECK(answer.outcome.verdict == Verdict::kAllowed);
}

TEST_CASE("a huge object with duplicates is refused in time proportional to its size") {
    std::string members;
    for (int i = 0; i < 200000; ++i) members += R"("k)" + std::to_string(i % 100000) + R"(":"v",)";
    const std::string body = review_text(
        kCreate, R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","annotations":{)" +
                     members + R"("z":"z"}},"spec":)" + kConfinedSpec + "}");
    const Answer answer = send(body);
    CHECK(answer.outcome.verdict == Verdict::kInvalid);
    CHECK(message_of(answer).find("duplicate key request.object.metadata.annotations.k0 ") !=
          std::string::npos);
}

TEST_CASE("a manifest with a duplicate key is an error at its line, and is not judged") {
    const auto set = seccomp_gate::parse_manifests(R"(apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  containers: [{name: c, securityContext: {seccompProfile: {type: RuntimeDefault}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: twice}
spec:
  containers:
  - name: c
    securityContext:
      seccompProfile:
        type: RuntimeDefault
        type: Unconfined
---
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "json"},
 "spec": {"containers": [], "containers": [{"name": "c"}]}}
)");
    REQUIRE(set.objects.size() == 1);
    CHECK(set.objects[0].object.name == "ok");
    REQUIRE(set.errors.size() == 2);
    CHECK(set.errors[0].document == 2);
    CHECK(set.errors[0].line == 16);
    CHECK(set.errors[0].message ==
          "duplicate key spec.containers[0].securityContext.seccompProfile.type (Kubernetes "
          "would keep the last value; refused)");
    CHECK(set.errors[1].document == 3);
    CHECK(set.errors[1].line == 19);
    CHECK(set.errors[1].message ==
          "duplicate key spec.containers (Kubernetes would keep the last value; refused)");
}

namespace {

// Writes `value` as JSON, repeating the member at `target` (a count of members in document order)
// with a different value before or after the original: a document that a first-wins and a
// last-wins decoder read differently. Returns the dotted path of the repeated key through
// `path_out` when it wrote it.
void write_with_duplicate(const ordered_json& value, std::size_t target, bool before,
                          std::size_t& counter, const std::string& path, std::string& out,
                          std::string& path_out) {
    if (value.is_object()) {
        out += '{';
        bool first = true;
        for (const auto& [key, member] : value.items()) {
            const std::string member_path =
                path.empty() ? seccomp_gate::shown(key) : path + "." + seccomp_gate::shown(key);
            const bool repeat = counter++ == target;
            const auto emit = [&](const ordered_json& v) {
                if (!first) out += ',';
                first = false;
                out += ordered_json(key).dump() + ":";
                if (&v == &member) {
                    write_with_duplicate(member, target, before, counter, member_path, out,
                                         path_out);
                } else {
                    out += v.dump();
                }
            };
            const ordered_json other =
                member.is_string() ? ordered_json("Unconfined") : ordered_json::object();
            if (repeat) path_out = member_path;
            if (repeat && before) emit(other);
            emit(member);
            if (repeat && !before) emit(other);
        }
        out += '}';
    } else if (value.is_array()) {
        out += '[';
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (i > 0) out += ',';
            write_with_duplicate(value[i], target, before, counter,
                                 path + "[" + std::to_string(i) + "]", out, path_out);
        }
        out += ']';
    } else {
        out += value.dump();
    }
}

}  // namespace

TEST_CASE("every member of the benchmark pod, repeated: refused naming it, or judged the same") {
    // A duplicate of a key the decision reads is refused with its path; one nothing reads (an
    // env var, managedFields) changes nothing, whichever value a decoder keeps.
    const std::string text =
        seccomp_gate::io::read_file(seccomp_gate::testing::source_path("bench/admission-pod.json"));
    const ordered_json review = ordered_json::parse(text);
    const auto snapshot = make_test_snapshot();
    const std::string plain =
        seccomp_gate::review(*snapshot, review.dump(), Endpoint::kValidate).response;
    std::size_t members = 0;
    {
        std::string ignored_out;
        std::string ignored_path;
        write_with_duplicate(review, SIZE_MAX, false, members, "", ignored_out, ignored_path);
    }
    REQUIRE(members > 100);
    std::set<std::string> refused;
    for (std::size_t target = 0; target < members; ++target) {
        for (const bool before : {true, false}) {
            std::size_t counter = 0;
            std::string body;
            std::string path;
            write_with_duplicate(review, target, before, counter, "", body, path);
            const auto outcome = seccomp_gate::review(*snapshot, body, Endpoint::kValidate);
            CAPTURE(path);
            if (outcome.verdict != Verdict::kInvalid) {
                CHECK(outcome.response == plain);
                continue;
            }
            const std::string message =
                json::parse(outcome.response)["response"]["status"].value("message", std::string());
            CHECK(message.find("duplicate key " + path + " ") != std::string::npos);
            refused.insert(path);
        }
    }
    // What the decision reads, among others.
    for (const char* path :
         {"apiVersion", "kind", "request", "request.uid", "request.kind", "request.resource",
          "request.operation", "request.namespace", "request.userInfo", "request.userInfo.username",
          "request.object", "request.object.metadata", "request.object.spec",
          "request.object.spec.containers", "request.object.spec.containers[0].securityContext",
          "request.object.spec.containers[0].name"}) {
        CAPTURE(path);
        CHECK(refused.count(path) == 1);
    }
    CHECK(refused.size() < members);
}

// ---- what is judged: the resource, and every group that serves a workload -----------------

TEST_CASE("dispatch is on request.resource; a kind that disagrees fails closed") {
    ordered_json review = pod_review(pod_with(unconfined_containers(1)));
    SUBCASE("kind \"pod\" for resource pods") {
        review["request"]["kind"]["kind"] = "pod";
        const Answer answer = send(review);
        CHECK(answer.outcome.verdict == Verdict::kInvalid);
        CHECK(message_of(answer) ==
              "not a usable AdmissionReview: request.kind pod (group \"\") does not match "
              "request.resource pods (Pod)");
    }
    SUBCASE("kind Pod for a resource that is not judged") {
        review["request"]["resource"]["resource"] = "configmaps";
        const Answer answer = send(review);
        CHECK(answer.outcome.verdict == Verdict::kInvalid);
        CHECK(message_of(answer) ==
              "not a usable AdmissionReview: request.kind Pod does not match request.resource "
              "configmaps");
    }
    SUBCASE("the object's own kind disagrees") {
        review["request"]["object"]["kind"] = "ConfigMap";
        const Answer answer = send(review);
        CHECK(answer.outcome.verdict == Verdict::kInvalid);
        CHECK(message_of(answer) ==
              "not a usable AdmissionReview: request.object is v1 ConfigMap, not the Pod that "
              "request.resource names");
    }
    SUBCASE("no resource") {
        review["request"].erase("resource");
        const Answer answer = send(review);
        CHECK(answer.outcome.verdict == Verdict::kInvalid);
        CHECK(message_of(answer) == "not a usable AdmissionReview: request.resource is missing");
    }
    SUBCASE("a subresource other than ephemeralcontainers is not judged") {
        review["request"]["subResource"] = "status";
        CHECK(send(review).outcome.verdict == Verdict::kAllowed);
    }
    SUBCASE("pods/ephemeralcontainers is judged") {
        review["request"]["subResource"] = "ephemeralcontainers";
        review["request"]["operation"] = "UPDATE";
        CHECK(send(review).outcome.verdict == Verdict::kDenied);
    }
}

TEST_CASE("extensions/v1beta1 DaemonSet, Deployment and ReplicaSet are judged") {
    for (const char* kind : {"DaemonSet", "Deployment", "ReplicaSet"}) {
        CAPTURE(kind);
        std::string resource = kind;
        for (char& c : resource) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        resource += "s";
        const ordered_json object{
            {"apiVersion", "extensions/v1beta1"},
            {"kind", kind},
            {"metadata", {{"name", "old"}, {"namespace", "shop"}}},
            {"spec",
             {{"template",
               {{"spec",
                 {{"securityContext", {{"seccompProfile", {{"type", "Unconfined"}}}}},
                  {"containers", {{{"name", "c"}}}}}}}}}}};
        ordered_json review = pod_review(object);
        review["request"]["kind"] = {
            {"group", "extensions"}, {"version", "v1beta1"}, {"kind", kind}};
        review["request"]["resource"] = {
            {"group", "extensions"}, {"version", "v1beta1"}, {"resource", resource}};
        const Answer answer = send(review);
        CHECK(answer.outcome.verdict == Verdict::kDenied);
        CHECK(message_of(answer).find("spec.template.spec.securityContext.seccompProfile.type: "
                                      "pod must not set seccompProfile.type to \"Unconfined\"") !=
              std::string::npos);

        const auto set = seccomp_gate::parse_manifests(object.dump());
        REQUIRE(set.objects.size() == 1);
        CHECK(set.objects[0].object.has_pod_specs);
    }
}

// ---- policies that contradict themselves --------------------------------------------------

TEST_CASE("a defaultProfile the policy itself would refuse does not load") {
    CHECK_THROWS_WITH_AS(make_test_snapshot("allowRuntimeDefault: false\n"
                                            "defaultProfile: {type: RuntimeDefault}\n"),
                         "test-policy.yaml:4: defaultProfile.type: \"RuntimeDefault\" contradicts "
                         "allowRuntimeDefault: false (every pod it is mutated into would be "
                         "denied)",
                         seccomp_gate::ConfigError);
    // The same whatever the order of the keys.
    CHECK_THROWS_AS(make_test_snapshot("defaultProfile: {type: RuntimeDefault}\n"
                                       "allowRuntimeDefault: false\n"),
                    seccomp_gate::ConfigError);
    CHECK_THROWS_WITH_AS(
        make_test_snapshot("permissiveProfiles: deny\n"
                           "defaultProfile: {type: Localhost, localhostProfile: "
                           "profiles/audit.json}\n"),
        "test-policy.yaml: defaultProfile.localhostProfile: \"profiles/audit.json\" is "
        "permissive (defaultAction SCMP_ACT_LOG) and permissiveProfiles is deny: every pod it is "
        "mutated into would be denied",
        seccomp_gate::ConfigError);
    CHECK_THROWS_WITH_AS(make_test_snapshot("defaultProfile: {type: Unconfined}\n"),
                         "test-policy.yaml:3: defaultProfile.type: \"Unconfined\" is not one of "
                         "RuntimeDefault, Localhost",
                         seccomp_gate::ConfigError);
    // What stays allowed: a permissive default under warn, RuntimeDefault when allowed.
    CHECK_NOTHROW(make_test_snapshot(
        "defaultProfile: {type: Localhost, localhostProfile: profiles/audit.json}\n"));
    CHECK_NOTHROW(make_test_snapshot("defaultProfile: {type: RuntimeDefault}\n"));
}

TEST_CASE("the response stays small for the worst values a 6 MB request can carry") {
    // Every quoted value at its longest once escaped: quotes double, control characters sextuple.
    ordered_json containers = ordered_json::array();
    for (int i = 0; i < 300; ++i) {
        containers.push_back(
            {{"name", std::string(10000, '"')},
             {"securityContext",
              {{"privileged", true},
               {"seccompProfile",
                {{"type", "Localhost"}, {"localhostProfile", std::string(10000, '\x01')}}}}}});
    }
    const ordered_json review = pod_review(pod_with(containers));
    REQUIRE(review.dump().size() > 6'000'000);
    for (const char* mode : {"mode: enforce\n", "mode: warn\n", "mode: audit\n"}) {
        CAPTURE(mode);
        const Answer answer = send(review, mode);
        CHECK(answer.outcome.violations == 300);
        CHECK(answer.outcome.warnings == 300);
        CHECK(answer.outcome.response.size() < 96 * 1024);
        if (answer.response.contains("warnings")) {
            CHECK(
                answer.response["warnings"].back().get<std::string>().ends_with(" more warnings"));
        }
    }
}
