// Manifest reading for `audit`: documents, lines, Lists, and broken documents that do not hide
// the others.

#include "policy/manifests.h"

#include <doctest/doctest.h>

namespace seccomp_gate {
namespace {

TEST_CASE("multi-document YAML keeps file lines and document indexes") {
    const ManifestSet set = parse_manifests(R"(# leading comment
---
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: ns
spec:
  containers:
    - name: a
      securityContext:
        privileged: true
        seccompProfile:
          type: Unconfined
)");
    CHECK(set.errors.empty());
    REQUIRE(set.objects.size() == 2);
    CHECK_FALSE(set.objects[0].object.has_pod_specs);
    const ManifestObject& pod = set.objects[1];
    CHECK(pod.document == 2);
    CHECK(pod.object.line == 7);
    CHECK(pod.object.ns == "ns");
    REQUIRE(pod.object.pod_specs.size() == 1);
    const Container& container = pod.object.pod_specs[0].containers.at(0);
    CHECK(container.line == 14);
    CHECK(container.privileged_line == 16);
    REQUIRE(container.seccomp.has_value());
    CHECK(container.seccomp->line == 18);
    CHECK(container.seccomp->type == seccomp_gate::ProfileType::kUnconfined);
}

TEST_CASE("a broken document is reported and the others are still read") {
    const ManifestSet set = parse_manifests(R"(apiVersion: v1
kind: Pod
metadata: {name: first}
---
apiVersion: v1
kind: Pod
metadata: {name: [unclosed
---
apiVersion: v1
kind: Pod
metadata: {name: third}
)");
    REQUIRE(set.objects.size() == 2);
    CHECK(set.objects[0].object.name == "first");
    CHECK(set.objects[1].object.name == "third");
    CHECK(set.objects[1].document == 3);
    REQUIRE(set.errors.size() == 1);
    CHECK(set.errors[0].document == 2);
    CHECK(set.errors[0].line >= 7);
    CHECK(set.errors[0].message.starts_with("not valid YAML or JSON: "));
}

TEST_CASE("JSON, kind List and kubectl's PodList") {
    const ManifestSet set = parse_manifests(R"({
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "x"},
     "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}},
    {"apiVersion": "v1", "kind": "PodList", "items": [
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    ]}
  ]
})");
    CHECK(set.errors.empty());
    REQUIRE(set.objects.size() == 2);
    CHECK(set.objects[0].object.kind == "Deployment");
    CHECK(set.objects[0].object.line == 5);
    CHECK(set.objects[0].object.pod_specs.at(0).field_path == "spec.template.spec");
    CHECK(set.objects[1].object.kind == "Pod");
}

TEST_CASE("documents that are not Kubernetes objects") {
    const ManifestSet set =
        parse_manifests("replicas: 3\n---\n- a\n- b\n---\n\n---\n# only a comment\n");
    CHECK(set.objects.empty());
    CHECK(set.skipped == 1);
    REQUIRE(set.errors.size() == 1);
    CHECK(set.errors[0].document == 2);
    CHECK(set.errors[0].message == "a manifest document must be a mapping (a Kubernetes object)");
}

TEST_CASE("a List whose items is not a list") {
    const ManifestSet set = parse_manifests("apiVersion: v1\nkind: List\nitems: {a: 1}\n");
    REQUIRE(set.errors.size() == 1);
    CHECK(set.errors[0].message == "List: items must be a list");
    CHECK(set.errors[0].line == 3);
}

TEST_CASE("a document end marker and CRLF line endings") {
    const ManifestSet set = parse_manifests(
        "apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: a}\r\n...\r\n"
        "apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: b}\r\n");
    CHECK(set.errors.empty());
    REQUIRE(set.objects.size() == 2);
    CHECK(set.objects[1].object.name == "b");
    CHECK(set.objects[1].object.line == 5);
}

}  // namespace
}  // namespace seccomp_gate

namespace seccomp_gate {
namespace {

TEST_CASE("items of the API server's own lists take their kind from the list") {
    const ManifestSet set = parse_manifests(
        R"({"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}]})");
    REQUIRE(set.objects.size() == 1);
    CHECK(set.objects[0].object.kind == "Pod");
    CHECK(set.objects[0].object.has_pod_specs);
    CHECK(set.objects[0].object.pod_specs.at(0).containers.size() == 1);
}

TEST_CASE("findings point at the line of the field they name") {
    const ManifestSet set = parse_manifests(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      securityContext:
        seccompProfile:
          type: Localhost
          localhostProfile: missing.json
)");
    REQUIRE(set.objects.size() == 1);
    const auto& setting = set.objects[0].object.pod_specs.at(0).containers.at(0).seccomp;
    REQUIRE(setting.has_value());
    CHECK(setting->type_line == 9);
    CHECK(setting->profile_line == 10);
}

}  // namespace
}  // namespace seccomp_gate
