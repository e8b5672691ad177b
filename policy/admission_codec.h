#pragma once
// The AdmissionReview wire format (admission.k8s.io/v1 and v1beta1) in and out: decoding a parsed
// body into an AdmissionRequest, and encoding an AdmissionResponse.

#include <string>
#include <string_view>

#include "policy/admission_request.h"
#include "policy/json_node.h"

namespace seccomp_gate {

// Reads the request's own fields (not its objects) from the review `root`; returns the first
// problem ("request.uid is missing"), empty when usable. `request.uid` is set as early as
// possible, so that even an answer to a broken review echoes it.
std::string decode_request(const JsonNode& root, AdmissionRequest& request);

// Decodes request.object and request.oldObject into the model, and whether an UPDATE changed the
// pod template at all.
void decode_objects(const JsonNode& root, AdmissionRequest& request);

std::string encode_response(std::string_view api_version, std::string_view uid,
                            const AdmissionResponse& response);

}  // namespace seccomp_gate
