// handle() on typed requests, with no JSON: the decision apart from the codec.

#include <doctest/doctest.h>

#include <string>

#include "policy/admission_request.h"
#include "test_support.h"

namespace {

using seccomp_gate::AdmissionRequest;
using seccomp_gate::Container;
using seccomp_gate::Endpoint;
using seccomp_gate::Object;
using seccomp_gate::Operation;
using seccomp_gate::PodSpec;
using seccomp_gate::ProfileSetting;
using seccomp_gate::ProfileType;
using seccomp_gate::Verdict;

Object pod(std::optional<ProfileType> container_type) {
    Container container;
    container.name = "app";
    if (container_type) {
        ProfileSetting setting;
        setting.type = *container_type;
        setting.type_text = std::string(seccomp_gate::to_string(*container_type));
        container.seccomp = setting;
    }
    PodSpec spec;
    spec.pointer = "/spec";
    spec.field_path = "spec";
    spec.metadata_path = "metadata";
    spec.has_security_context = true;
    spec.containers.push_back(container);
    Object object;
    object.api_version = "v1";
    object.kind = "Pod";
    object.ns = "shop";
    object.name = "web";
    object.has_pod_specs = true;
    object.pod_specs.push_back(spec);
    return object;
}

AdmissionRequest request_for(Object object, Operation operation = Operation::kCreate) {
    AdmissionRequest request;
    request.api_version = "admission.k8s.io/v1";
    request.uid = "u";
    request.operation = operation;
    request.kind = "Pod";
    request.resource = "pods";
    request.ns = "shop";
    request.has_object = true;
    request.object = std::move(object);
    return request;
}

}  // namespace

TEST_CASE("handle: an Unconfined container is denied, naming the rule") {
    const auto snapshot = seccomp_gate::testing::make_test_snapshot();
    const auto response = seccomp_gate::handle(
        *snapshot, request_for(pod(ProfileType::kUnconfined)), Endpoint::kValidate);
    CHECK(response.verdict == Verdict::kDenied);
    CHECK(response.code == 403);
    CHECK(response.rules == std::vector<std::string>{"unconfined"});
    CHECK(response.message ==
          "Pod/shop/web violates the seccomp policy: spec.containers[0].securityContext."
          "seccompProfile.type: container \"app\" must not set seccompProfile.type to "
          "\"Unconfined\"");
}

TEST_CASE("handle: the gates before any rule") {
    const auto snapshot = seccomp_gate::testing::make_test_snapshot(
        "exemptions: {namespaces: [shop]}\n"
        "defaultProfile: {type: Localhost, localhostProfile: profiles/default.json}\n");
    SUBCASE("DELETE") {
        const auto response = seccomp_gate::handle(
            *snapshot, request_for(pod(ProfileType::kUnconfined), Operation::kDelete),
            Endpoint::kValidate);
        CHECK(response.allowed);
        CHECK(response.reason == "operation not judged");
    }
    SUBCASE("an exempt namespace is neither judged nor mutated") {
        const auto response =
            seccomp_gate::handle(*snapshot, request_for(pod(std::nullopt)), Endpoint::kMutate);
        CHECK(response.allowed);
        CHECK(response.reason == "exempt");
        CHECK(response.patch.empty());
    }
    SUBCASE("a kind that disagrees with the resource") {
        AdmissionRequest request = request_for(pod(ProfileType::kUnconfined));
        request.kind = "pod";
        const auto response = seccomp_gate::handle(*snapshot, request, Endpoint::kValidate);
        CHECK(response.verdict == Verdict::kInvalid);
        CHECK(response.code == 400);
    }
}

TEST_CASE("handle: an UPDATE that leaves the seccomp state alone is not judged") {
    const auto snapshot = seccomp_gate::testing::make_test_snapshot();
    AdmissionRequest request = request_for(pod(ProfileType::kUnconfined), Operation::kUpdate);
    request.old_object = pod(ProfileType::kUnconfined);
    auto response = seccomp_gate::handle(*snapshot, request, Endpoint::kValidate);
    CHECK(response.allowed);
    CHECK(response.reason == "unchanged");
    request.old_object = pod(ProfileType::kRuntimeDefault);
    response = seccomp_gate::handle(*snapshot, request, Endpoint::kValidate);
    CHECK(response.verdict == Verdict::kDenied);
}

TEST_CASE("handle: /mutate patches a pod with an unset container and judges it as patched") {
    const auto snapshot = seccomp_gate::testing::make_test_snapshot(
        "defaultProfile: {type: Localhost, localhostProfile: profiles/default.json}\n");
    const auto response =
        seccomp_gate::handle(*snapshot, request_for(pod(std::nullopt)), Endpoint::kMutate);
    CHECK(response.allowed);
    CHECK(response.patch == R"([{"op":"add","path":"/spec/securityContext/seccompProfile","value":)"
                            R"({"type":"Localhost","localhostProfile":"profiles/default.json"}}])");
}
