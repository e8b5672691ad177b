#pragma once
// An AdmissionReview's request and response as typed values, and the decision between them:
// handle() takes a decoded request and returns the response, with no JSON in sight (the codec,
// admission_codec.h, reads and writes the wire format; review() in admission.h joins the two).
// After controller-runtime's Handle(Request) Response.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/admission.h"
#include "policy/model.h"
#include "policy/snapshot.h"

namespace seccomp_gate {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };
std::string_view to_string(Operation operation);  // "CREATE", ...

// The fields of AdmissionReview.request that a decision reads. Views into the request body.
struct AdmissionRequest {
    std::string_view api_version;  // admission.k8s.io/v1 or v1beta1: the response echoes it
    std::string_view uid;
    Operation operation = Operation::kCreate;
    std::string_view kind_group;  // request.kind
    std::string_view kind;
    std::string_view resource_group;  // request.resource: what is judged is decided on it
    std::string_view resource;
    std::string_view sub_resource;
    std::string_view ns;
    std::string_view name;
    std::string_view username;
    bool has_object = false;       // request.object is a JSON object
    std::optional<Object> object;  // decoded when wants_objects()
    std::optional<Object> old_object;
    bool template_changed = true;  // UPDATE: the workload's pod template differs in any field
};

// What the AdmissionResponse says, and what the server logs and counts about it.
struct AdmissionResponse {
    bool allowed = true;
    int code = 0;  // status.code: 403 denied, 400 not usable
    std::string message;
    std::vector<std::string> warnings;
    std::string audit_violations;
    std::string patch;  // RFC 6902 document, unencoded

    Verdict verdict = Verdict::kAllowed;
    std::string reason;  // why nothing was judged: "exempt", "unchanged", ...
    std::size_t violations = 0;
    std::size_t warning_count = 0;
    std::vector<std::string> rules;  // ids of the rules with violations
};

// The response helpers: allowed without judgement, and not usable (400).
AdmissionResponse allowed_unjudged(std::string reason);
AdmissionResponse errored(const std::string& problem);

// Whether the decision reads the objects of this request (CREATE and UPDATE of a judged
// resource, or pods/ephemeralcontainers): the codec decodes them only then.
bool wants_objects(const AdmissionRequest& request);

// SPEC sections 5-7 for one request.
AdmissionResponse handle(const Snapshot& snapshot, AdmissionRequest request, Endpoint endpoint);

}  // namespace seccomp_gate
