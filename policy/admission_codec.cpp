#include "policy/admission_codec.h"

#include <nlohmann/json.hpp>

#include "policy/base64.h"
#include "policy/decode.h"
#include "policy/workload_kinds.h"

namespace seccomp_gate {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";
// The API server's uids are UUIDs (36 bytes); a longer one is not echoed back whole.
constexpr std::size_t kMaxUidBytes = 128;

std::string_view string_at(const JsonNode& node, std::string_view key) {
    if (auto value = detail::member(node, key)) {
        if (auto text = value->string()) return *text;
    }
    return {};
}

std::optional<Operation> parse_operation(std::string_view text) {
    if (text == "CREATE") return Operation::kCreate;
    if (text == "UPDATE") return Operation::kUpdate;
    if (text == "DELETE") return Operation::kDelete;
    if (text == "CONNECT") return Operation::kConnect;
    return std::nullopt;
}

// Whether an UPDATE changes a workload's pod template at all (any field).
bool template_changed(const JsonNode& before, const JsonNode& after, const WorkloadKind& kind) {
    const auto old_template = find_pod_template(before, kind);
    const auto new_template = find_pod_template(after, kind);
    if (!old_template || !new_template) return old_template.has_value() != new_template.has_value();
    return simdjson::minify(old_template->element()) != simdjson::minify(new_template->element());
}

}  // namespace

std::string decode_request(const JsonNode& root, AdmissionRequest& request) {
    if (!root.is_object()) return "the body must be a JSON object";
    request.api_version = string_at(root, "apiVersion");
    auto review_request = detail::member(root, "request");
    if (review_request && review_request->is_object()) {
        request.uid = string_at(*review_request, "uid");
    }
    if (request.api_version != kV1 && request.api_version != kV1beta1) {
        request.api_version = kV1;
        return "apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1";
    }
    if (string_at(root, "kind") != "AdmissionReview") return "kind must be AdmissionReview";
    if (!review_request || !review_request->is_object()) return "request is missing";
    if (request.uid.empty()) return "request.uid is missing";
    if (request.uid.size() > kMaxUidBytes) {
        const std::size_t size = request.uid.size();
        request.uid = {};
        return "request.uid is " + std::to_string(size) + " bytes long (at most " +
               std::to_string(kMaxUidBytes) + ")";
    }
    const auto kind = detail::member(*review_request, "kind");
    if (!kind || !kind->is_object() || string_at(*kind, "kind").empty()) {
        return "request.kind is missing";
    }
    request.kind_group = string_at(*kind, "group");
    request.kind = string_at(*kind, "kind");
    const auto resource = detail::member(*review_request, "resource");
    if (!resource || !resource->is_object() || string_at(*resource, "resource").empty()) {
        return "request.resource is missing";
    }
    request.resource_group = string_at(*resource, "group");
    request.resource = string_at(*resource, "resource");
    const auto operation = parse_operation(string_at(*review_request, "operation"));
    if (!operation) return "request.operation must be CREATE, UPDATE, DELETE or CONNECT";
    request.operation = *operation;
    request.ns = string_at(*review_request, "namespace");
    request.name = string_at(*review_request, "name");
    request.sub_resource = string_at(*review_request, "subResource");
    if (auto user = detail::member(*review_request, "userInfo")) {
        request.username = string_at(*user, "username");
    }
    const auto object = detail::member(*review_request, "object");
    request.has_object = object && object->is_object();
    return {};
}

void decode_objects(const JsonNode& root, AdmissionRequest& request) {
    const WorkloadKind* kind = find_workload_resource(request.resource_group, request.resource);
    const auto review_request = detail::member(root, "request");
    if (kind == nullptr || !review_request) return;
    const auto object = detail::member(*review_request, "object");
    const auto old_object = detail::member(*review_request, "oldObject");
    if (object && object->is_object()) request.object = decode_object(*object, kind);
    if (old_object && old_object->is_object()) {
        request.old_object = decode_object(*old_object, kind);
        // Pods have no template: their UPDATEs are never patched (SPEC section 7).
        if (request.object && kind->template_depth > 0) {
            request.template_changed = template_changed(*old_object, *object, *kind);
        }
    }
}

std::string encode_response(std::string_view api_version, std::string_view uid,
                            const AdmissionResponse& answer) {
    ordered_json response{{"uid", uid}, {"allowed", answer.allowed}};
    if (answer.code != 0) {
        response["status"] = {{"code", answer.code},
                              {"reason", answer.code == 400 ? "BadRequest" : "Forbidden"},
                              {"message", answer.message}};
    }
    if (!answer.warnings.empty()) response["warnings"] = answer.warnings;
    if (!answer.audit_violations.empty()) {
        response["auditAnnotations"] = {{"violations", answer.audit_violations}};
    }
    if (!answer.patch.empty()) {
        response["patchType"] = "JSONPatch";
        response["patch"] = base64_encode(answer.patch);
    }
    const ordered_json review{{"apiVersion", api_version.empty() ? kV1 : api_version},
                              {"kind", "AdmissionReview"},
                              {"response", std::move(response)}};
    return review.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace seccomp_gate
