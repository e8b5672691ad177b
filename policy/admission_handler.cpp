// handle(): SPEC sections 5-7 for one decoded AdmissionRequest. What is judged at all (operation,
// subresource, resource), exemptions, UPDATE relevance, mutation, the rules, and how the mode
// turns findings into an answer.

#include <algorithm>

#include "policy/admission_request.h"
#include "policy/evaluate.h"
#include "policy/mutation.h"
#include "policy/text.h"
#include "policy/workload_kinds.h"

namespace seccomp_gate {
namespace {

// Bounds on what one response carries, whatever the request: the first findings in full, then
// how many more (the counts stay exact). Every value quoted in a finding is itself bounded
// (text.h), so a response stays within a few tens of KiB.
constexpr std::size_t kMaxReportedViolations = 32;
constexpr std::size_t kMaxReportedWarnings = 32;
// And at most this much text each for the violations and for the warnings (a finding is at most
// a few KiB: its quoted values are bounded).
constexpr std::size_t kMaxReportedBytes = 16 * 1024;

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

void add_warning(AdmissionResponse& answer, WarningBudget& budget, std::string text) {
    if (budget.dropped == 0 && answer.warnings.size() < kMaxReportedWarnings &&
        (answer.warnings.empty() || budget.bytes + text.size() <= kMaxReportedBytes)) {
        budget.bytes += text.size();
        answer.warnings.push_back(std::move(text));
    } else {
        ++budget.dropped;
    }
}

// Turns a judgement into the answer its mode calls for.
void decide(const Object& object, const Judgement& judgement, AdmissionResponse& answer) {
    for (const auto& finding : judgement.findings) {
        if (finding.severity == Severity::kWarning) {
            ++answer.warning_count;
            continue;
        }
        ++answer.violations;
        if (std::find(answer.rules.begin(), answer.rules.end(), finding.rule) ==
            answer.rules.end()) {
            answer.rules.push_back(finding.rule);
        }
    }
    WarningBudget budget;
    for (const auto& finding : judgement.findings) {
        if (finding.severity == Severity::kWarning) add_warning(answer, budget, finding.text());
    }
    if (answer.violations > 0) {
        const std::string violations = join_violations(judgement.findings, answer.violations);
        switch (judgement.mode) {
            case Mode::kEnforce:
                answer.allowed = false;
                answer.code = 403;
                answer.verdict = Verdict::kDenied;
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

// SPEC section 6: DELETE and CONNECT are allowed; of the subresources only
// pods/ephemeralcontainers is judged.
bool judged_operation(const AdmissionRequest& request) {
    if (request.operation == Operation::kDelete || request.operation == Operation::kConnect) {
        return false;
    }
    return request.sub_resource.empty() ||
           (request.resource == "pods" && request.resource_group.empty() &&
            request.sub_resource == "ephemeralcontainers");
}

// The kind that `request.resource` serves, checked against `request.kind`: a review whose parts
// disagree (kind "pod" for resource "pods") fails closed rather than being allowed unjudged.
// `problem` is set when they disagree.
const WorkloadKind* judged_kind(const AdmissionRequest& request, std::string& problem) {
    const WorkloadKind* kind = find_workload_resource(request.resource_group, request.resource);
    const std::string resource =
        (request.resource_group.empty() ? std::string()
                                        : std::string(request.resource_group) + "/") +
        std::string(request.resource);
    if (kind == nullptr) {
        if (find_workload_kind(request.kind_group, request.kind) != nullptr) {
            problem = "request.kind " + shown(request.kind) + " does not match request.resource " +
                      shown(resource);
        }
        return nullptr;
    }
    if (request.kind != kind->kind || request.kind_group != kind->group) {
        problem = "request.kind " + shown(request.kind) + " (group " + quoted(request.kind_group) +
                  ") does not match request.resource " + shown(resource) + " (" +
                  std::string(kind->kind) + ")";
    }
    return kind;
}

// The object must be what the resource serves (an absent apiVersion or kind is not checked).
std::string object_mismatch(const Object& object, const WorkloadKind& kind) {
    if ((!object.kind.empty() && object.kind != kind.kind) ||
        (!object.api_version.empty() && api_group(object.api_version) != kind.group)) {
        return "request.object is " + shown(object.api_version) + " " + shown(object.kind) +
               ", not the " + std::string(kind.kind) + " that request.resource names";
    }
    return {};
}

// SPEC section 6: what rules 1-7 look at, unchanged by an UPDATE.
bool same_seccomp_state(const Object& before, const Object& after) {
    if (before.pod_specs.size() != after.pod_specs.size()) return false;
    for (std::size_t i = 0; i < before.pod_specs.size(); ++i) {
        if (!before.pod_specs[i].same_seccomp_state(after.pod_specs[i])) return false;
    }
    return true;
}

}  // namespace

std::string_view to_string(Operation operation) {
    switch (operation) {
        case Operation::kCreate:
            return "CREATE";
        case Operation::kUpdate:
            return "UPDATE";
        case Operation::kDelete:
            return "DELETE";
        case Operation::kConnect:
            break;
    }
    return "CONNECT";
}

AdmissionResponse allowed_unjudged(std::string reason) {
    AdmissionResponse response;
    response.reason = std::move(reason);
    return response;
}

AdmissionResponse errored(const std::string& problem) {
    AdmissionResponse response;
    response.allowed = false;
    response.code = 400;
    response.verdict = Verdict::kInvalid;
    response.message = "not a usable AdmissionReview: " + problem;
    return response;
}

bool wants_objects(const AdmissionRequest& request) {
    return judged_operation(request) &&
           find_workload_resource(request.resource_group, request.resource) != nullptr;
}

AdmissionResponse handle(const Snapshot& snapshot, AdmissionRequest request, Endpoint endpoint) {
    if (request.operation == Operation::kDelete || request.operation == Operation::kConnect) {
        return allowed_unjudged("operation not judged");
    }
    if (!judged_operation(request)) return allowed_unjudged("subresource not judged");
    std::string problem;
    const WorkloadKind* kind = judged_kind(request, problem);
    if (!problem.empty()) return errored(problem);
    if (kind == nullptr) return allowed_unjudged("kind not judged");
    if (!request.has_object || !request.object) {
        return errored("request.object is missing for " +
                       std::string(to_string(request.operation)));
    }
    Object& object = *request.object;
    if (problem = object_mismatch(object, *kind); !problem.empty()) return errored(problem);
    if (!request.ns.empty()) object.ns = std::string(request.ns);
    if (!request.name.empty()) object.name = std::string(request.name);

    // SPEC rule 9: exempt objects are neither judged nor mutated.
    if (snapshot.policy.is_exempt(object.ns, request.username)) return allowed_unjudged("exempt");
    for (const auto& spec : object.pod_specs) {
        // Too many containers or annotations: refused unread (decode.h), whatever the mode.
        if (spec.over_limit) {
            return errored(spec.shape_errors.back().path + " " + spec.shape_errors.back().message);
        }
    }
    const bool is_update = request.operation == Operation::kUpdate;
    const bool has_old = is_update && request.old_object.has_value();
    const bool seccomp_changed = !has_old || !same_seccomp_state(*request.old_object, object);

    AdmissionResponse answer;
    std::vector<ProfilePatch> patches;
    if (endpoint == Endpoint::kMutate) {
        // Pods only on CREATE (their spec is immutable afterwards). Templates on CREATE, and on
        // an UPDATE that changes the template anyway: patching an untouched template would
        // start a rollout nobody asked for.
        const bool templates =
            snapshot.policy.mutate_templates && (!has_old || request.template_changed);
        patches = plan_mutation(snapshot.policy, object, MutationScope{!is_update, templates});
        apply_mutation(snapshot.policy, patches, object);
    }
    if (!seccomp_changed) {
        // SPEC section 6: an UPDATE that leaves the seccomp state alone is not judged.
        answer.reason = "unchanged";
        if (!patches.empty()) answer.patch = patch_document(snapshot.policy, patches);
        return answer;
    }

    decide(object, judge(snapshot, object, object.ns), answer);
    if (answer.allowed && !patches.empty()) answer.patch = patch_document(snapshot.policy, patches);
    return answer;
}

}  // namespace seccomp_gate
