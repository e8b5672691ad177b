#include "policy/admission.h"

#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "policy/base64.h"
#include "policy/decode.h"
#include "policy/duplicate_keys.h"
#include "policy/evaluate.h"
#include "policy/json_node.h"
#include "policy/mutation.h"
#include "policy/text.h"

namespace seccomp_gate {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";

// Bounds on what one response carries, whatever the request: the first findings in full, then
// how many more (the counts stay exact). Every value quoted in a finding is itself bounded
// (text.h), so a response stays within a few tens of KiB.
constexpr std::size_t kMaxReportedViolations = 32;
constexpr std::size_t kMaxReportedWarnings = 32;
// And at most this much text each for the violations and for the warnings (a finding is at most
// a few KiB: its quoted values are bounded).
constexpr std::size_t kMaxReportedBytes = 16 * 1024;
// The API server's uids are UUIDs (36 bytes); a longer one is not echoed back whole.
constexpr std::size_t kMaxUidBytes = 128;

// A response under construction: what the AdmissionResponse will say.
struct Answer {
    bool allowed = true;
    int code = 0;
    std::string message;
    std::vector<std::string> warnings;
    std::string audit_violations;
    std::string patch;  // RFC 6902 document, unencoded
};

std::string encode(std::string_view api_version, std::string_view uid, const Answer& answer) {
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
    const ordered_json review{{"apiVersion", api_version},
                              {"kind", "AdmissionReview"},
                              {"response", std::move(response)}};
    return review.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The violations, joined with "; " (no message has "; " outside a quoted value), the first
// kMaxReportedViolations of them in full.
std::string join_violations(const std::vector<Finding>& findings, std::size_t total) {
    std::string out;
    std::size_t shown_count = 0;
    for (const auto& finding : findings) {
        if (finding.severity != Severity::kViolation) continue;
        std::string text = finding.text();
        if (shown_count == kMaxReportedViolations ||
            (shown_count > 0 && out.size() + text.size() > kMaxReportedBytes)) {
            break;
        }
        if (shown_count++ > 0) out += "; ";
        out += text;
    }
    if (total > shown_count) {
        out += "; and " + std::to_string(total - shown_count) + " more violation" +
               (total - shown_count > 1 ? "s" : "");
    }
    return out;
}

// Appends a warning unless kMaxReportedWarnings or kMaxReportedBytes are reached (the last slot
// then says how many more there were).
struct WarningBudget {
    std::size_t bytes = 0;
    std::size_t dropped = 0;
};

void add_warning(Answer& answer, WarningBudget& budget, std::string text) {
    if (budget.dropped == 0 && answer.warnings.size() < kMaxReportedWarnings &&
        (answer.warnings.empty() || budget.bytes + text.size() <= kMaxReportedBytes)) {
        budget.bytes += text.size();
        answer.warnings.push_back(std::move(text));
    } else {
        ++budget.dropped;
    }
}

// Turns a judgement into the answer its mode calls for.
void decide(const Object& object, const Judgement& judgement, Answer& answer,
            ReviewOutcome& outcome) {
    for (const auto& finding : judgement.findings) {
        if (finding.severity == Severity::kWarning) {
            ++outcome.warnings;
            continue;
        }
        ++outcome.violations;
        if (std::find(outcome.rules.begin(), outcome.rules.end(), finding.rule) ==
            outcome.rules.end()) {
            outcome.rules.push_back(finding.rule);
        }
    }
    WarningBudget budget;
    for (const auto& finding : judgement.findings) {
        if (finding.severity == Severity::kWarning) add_warning(answer, budget, finding.text());
    }
    if (outcome.violations > 0) {
        const std::string violations = join_violations(judgement.findings, outcome.violations);
        switch (judgement.mode) {
            case Mode::kEnforce:
                answer.allowed = false;
                answer.code = 403;
                answer.message = object_ref(object) + " violates the seccomp policy: " + violations;
                break;
            case Mode::kWarn:
                for (const auto& finding : judgement.findings) {
                    if (finding.severity == Severity::kViolation) {
                        add_warning(answer, budget, "would be denied: " + finding.text());
                    }
                }
                break;
            case Mode::kAudit:
                answer.audit_violations = violations;
                break;
        }
    }
    if (budget.dropped > 0) {
        // The last kept warning makes room for the count, so the list never grows past the cap.
        answer.warnings.back() = "and " + std::to_string(budget.dropped + 1) + " more warnings";
    }
}

struct Request {
    std::string_view api_version;
    std::string_view uid;
    std::string_view group;
    std::string_view kind;
    std::string_view resource_group;
    std::string_view resource;
    std::string_view ns;
    std::string_view name;
    std::string_view operation;
    std::string_view sub_resource;
    std::string_view username;
    std::optional<JsonNode> object;
    std::optional<JsonNode> old_object;
};

std::string_view string_at(const JsonNode& node, std::string_view key) {
    if (auto value = detail::member(node, key)) {
        if (auto text = value->string()) return *text;
    }
    return {};
}

// Reads the fields a decision needs; returns the first problem, empty when usable.
std::string read_request(const JsonNode& root, Request& request) {
    if (!root.is_object()) return "the body must be a JSON object";
    request.api_version = string_at(root, "apiVersion");
    auto review_request = detail::member(root, "request");
    if (review_request && review_request->is_object()) {
        request.uid = string_at(*review_request, "uid");
    }
    if (request.api_version != kV1 && request.api_version != kV1beta1) {
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
    request.group = string_at(*kind, "group");
    request.kind = string_at(*kind, "kind");
    // What is judged is decided on the resource, as Pod Security Admission does: the kind is
    // only checked against it.
    const auto resource = detail::member(*review_request, "resource");
    if (!resource || !resource->is_object() || string_at(*resource, "resource").empty()) {
        return "request.resource is missing";
    }
    request.resource_group = string_at(*resource, "group");
    request.resource = string_at(*resource, "resource");
    request.operation = string_at(*review_request, "operation");
    if (request.operation != "CREATE" && request.operation != "UPDATE" &&
        request.operation != "DELETE" && request.operation != "CONNECT") {
        return "request.operation must be CREATE, UPDATE, DELETE or CONNECT";
    }
    request.ns = string_at(*review_request, "namespace");
    request.name = string_at(*review_request, "name");
    request.sub_resource = string_at(*review_request, "subResource");
    if (auto user = detail::member(*review_request, "userInfo")) {
        request.username = string_at(*user, "username");
    }
    request.object = detail::member(*review_request, "object");
    request.old_object = detail::member(*review_request, "oldObject");
    return {};
}

// The kind that `request.resource` serves, checked against `request.kind` and the object's own
// apiVersion and kind: a review whose parts disagree (kind "pod" for resource "pods") fails
// closed rather than being allowed unjudged. `problem` is set when they disagree.
const WorkloadKind* judged_kind(const Request& request, std::string& problem) {
    const WorkloadKind* kind = find_workload_resource(request.resource_group, request.resource);
    const std::string resource =
        (request.resource_group.empty() ? std::string()
                                        : std::string(request.resource_group) + "/") +
        std::string(request.resource);
    if (kind == nullptr) {
        if (find_workload_kind(request.group, request.kind) != nullptr) {
            problem = "request.kind " + shown(request.kind) + " does not match request.resource " +
                      shown(resource);
        }
        return nullptr;
    }
    if (request.kind != kind->kind || request.group != kind->group) {
        problem = "request.kind " + shown(request.kind) + " (group " + quoted(request.group) +
                  ") does not match request.resource " + shown(resource) + " (" +
                  std::string(kind->kind) + ")";
    }
    return kind;
}

// The object must be what the resource serves (an absent apiVersion or kind is not checked).
std::string object_mismatch(const Object& object, const WorkloadKind& kind, const char* field) {
    if ((!object.kind.empty() && object.kind != kind.kind) ||
        (!object.api_version.empty() && api_group(object.api_version) != kind.group)) {
        return std::string(field) + " is " + shown(object.api_version) + " " + shown(object.kind) +
               ", not the " + std::string(kind.kind) + " that request.resource names";
    }
    return {};
}

bool same_seccomp_state(const Object& before, const Object& after) {
    if (before.pod_specs.size() != after.pod_specs.size()) return false;
    for (std::size_t i = 0; i < before.pod_specs.size(); ++i) {
        if (!before.pod_specs[i].same_seccomp_state(after.pod_specs[i])) return false;
    }
    return true;
}

// Whether an UPDATE changes a workload's pod template at all (any field).
bool template_changed(const JsonNode& before, const JsonNode& after, const WorkloadKind& kind) {
    const auto old_template = find_pod_template(before, kind);
    const auto new_template = find_pod_template(after, kind);
    if (!old_template || !new_template) return old_template.has_value() != new_template.has_value();
    return simdjson::minify(old_template->element()) != simdjson::minify(new_template->element());
}

}  // namespace

std::string_view to_string(Verdict verdict) {
    switch (verdict) {
        case Verdict::kAllowed:
            return "allowed";
        case Verdict::kDenied:
            return "denied";
        case Verdict::kInvalid:
            return "invalid";
        case Verdict::kNotJson:
            break;
    }
    return "not_json";
}

struct ReviewScratch::Buffers {
    simdjson::dom::parser parser;
    std::string padded;  // the body followed by simdjson's padding
};

ReviewScratch::ReviewScratch() : buffers_(std::make_unique<Buffers>()) {}
ReviewScratch::~ReviewScratch() = default;

namespace {

// Bodies up to this size keep their parse buffers for the next request; typical pods are a few
// KiB, and the parser needs several bytes of index per byte of JSON.
constexpr std::size_t kKeptBufferBytes = 256 * 1024;

// The parse buffers handed back when a large body grew them.
void release_if_large(ReviewScratch::Buffers& buffers, std::size_t body_size) {
    if (body_size <= kKeptBufferBytes) return;
    buffers.parser = simdjson::dom::parser();
    std::string().swap(buffers.padded);
}

ReviewOutcome review_parsed(const Snapshot& snapshot, std::string_view body, Endpoint endpoint,
                            ReviewScratch::Buffers& buffers) {
    ReviewOutcome outcome;
    buffers.padded.assign(body);
    buffers.padded.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element root;
    if (const auto error =
            buffers.parser.parse(buffers.padded.data(), body.size(), false).get(root);
        error != simdjson::SUCCESS) {
        outcome.verdict = Verdict::kNotJson;
        outcome.response = std::string("the body is not JSON: ") + simdjson::error_message(error);
        return outcome;
    }

    Request request;
    // Every object the decision reads is read to its end: a key met twice there is recorded.
    DuplicateSink duplicates;
    std::string problem = read_request(JsonNode(root, &duplicates), request);
    outcome.uid = request.uid;
    outcome.kind = clipped(request.kind);
    outcome.operation = clipped(request.operation);
    const std::string_view api_version = request.api_version == kV1beta1 ? kV1beta1 : kV1;
    const auto invalid = [&](const std::string& message) {
        Answer answer;
        answer.allowed = false;
        answer.code = 400;
        answer.message = "not a usable AdmissionReview: " + message;
        outcome.verdict = Verdict::kInvalid;
        outcome.response = encode(api_version, request.uid, answer);
        return outcome;
    };
    // Before any other problem (what the first of two values says is not what the request
    // means), and once the uid is known, so that even this answer echoes it.
    const auto duplicate_key = [&] {
        return "duplicate key " + path_of_key(root, duplicates.key) +
               " (a decoder that keeps the last value would read another request)";
    };
    if (duplicates.key != nullptr) return invalid(duplicate_key());
    if (!problem.empty()) return invalid(problem);

    Answer answer;
    const auto allow = [&](std::string reason) {
        outcome.verdict = Verdict::kAllowed;
        outcome.reason = std::move(reason);
        outcome.response = encode(api_version, request.uid, answer);
        return outcome;
    };

    // SPEC section 6: what is judged at all, decided on the resource and subresource.
    if (request.operation == "DELETE" || request.operation == "CONNECT") {
        return allow("operation not judged");
    }
    if (!request.sub_resource.empty() &&
        !(request.resource == "pods" && request.resource_group.empty() &&
          request.sub_resource == "ephemeralcontainers")) {
        return allow("subresource not judged");
    }
    const WorkloadKind* kind = judged_kind(request, problem);
    if (!problem.empty()) return invalid(problem);
    if (kind == nullptr) return allow("kind not judged");
    if (!request.object || !request.object->is_object()) {
        return invalid("request.object is missing for " + std::string(request.operation));
    }

    Object object = decode_object(*request.object, kind);
    if (duplicates.key != nullptr) return invalid(duplicate_key());
    if (problem = object_mismatch(object, *kind, "request.object"); !problem.empty()) {
        return invalid(problem);
    }
    if (!request.ns.empty()) object.ns = std::string(request.ns);
    if (!request.name.empty()) object.name = std::string(request.name);
    outcome.ns = clipped(object.ns);
    outcome.name = clipped(object.name);

    if (snapshot.policy.is_exempt(object.ns, request.username)) return allow("exempt");
    for (const auto& spec : object.pod_specs) {
        // Too many containers or annotations: refused unread (decode.h), whatever the mode.
        if (spec.over_limit)
            return invalid(spec.shape_errors.back().path + " " + spec.shape_errors.back().message);
    }
    const bool is_update = request.operation == "UPDATE";
    const bool has_old = is_update && request.old_object && request.old_object->is_object();
    const bool seccomp_changed =
        !has_old || !same_seccomp_state(decode_object(*request.old_object, kind), object);
    if (duplicates.key != nullptr) return invalid(duplicate_key());

    std::vector<ProfilePatch> patches;
    if (endpoint == Endpoint::kMutate) {
        // Pods only on CREATE (their spec is immutable afterwards). Templates on CREATE, and on
        // an UPDATE that changes the template anyway: patching an untouched template would
        // start a rollout nobody asked for.
        const bool templates =
            snapshot.policy.mutate_templates &&
            (!has_old || template_changed(*request.old_object, *request.object, *kind));
        patches = plan_mutation(snapshot.policy, object, MutationScope{!is_update, templates});
        apply_mutation(snapshot.policy, patches, object);
    }
    if (!seccomp_changed) {
        // SPEC section 6: an UPDATE that leaves the seccomp state alone is not judged.
        if (!patches.empty()) {
            answer.patch = patch_document(snapshot.policy, patches);
            outcome.patched = true;
        }
        return allow("unchanged");
    }

    const Judgement judgement = judge(snapshot, object, object.ns);
    decide(object, judgement, answer, outcome);
    if (answer.allowed && !patches.empty()) {
        answer.patch = patch_document(snapshot.policy, patches);
        outcome.patched = true;
    }
    outcome.verdict = answer.allowed ? Verdict::kAllowed : Verdict::kDenied;
    outcome.response = encode(api_version, request.uid, answer);
    return outcome;
}

}  // namespace

ReviewOutcome review(const Snapshot& snapshot, std::string_view body, Endpoint endpoint) {
    ReviewScratch scratch;
    return review(snapshot, body, endpoint, scratch);
}

ReviewOutcome review(const Snapshot& snapshot, std::string_view body, Endpoint endpoint,
                     ReviewScratch& scratch) {
    ReviewScratch::Buffers& buffers = scratch.buffers();
    ReviewOutcome outcome = review_parsed(snapshot, body, endpoint, buffers);
    release_if_large(buffers, body.size());
    return outcome;
}

}  // namespace seccomp_gate
