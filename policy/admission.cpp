#include "policy/admission.h"

#include <simdjson.h>

#include "policy/admission_codec.h"
#include "policy/admission_request.h"
#include "policy/duplicate_keys.h"
#include "policy/json_node.h"
#include "policy/text.h"

namespace seccomp_gate {

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

// The review of a parsed body: decode, handle, encode.
ReviewOutcome review_parsed(const Snapshot& snapshot, std::string_view body, Endpoint endpoint,
                            ReviewScratch::Buffers& buffers) {
    ReviewOutcome outcome;
    buffers.padded.assign(body);
    buffers.padded.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element parsed;
    if (const auto error =
            buffers.parser.parse(buffers.padded.data(), body.size(), false).get(parsed);
        error != simdjson::SUCCESS) {
        outcome.verdict = Verdict::kNotJson;
        outcome.response = std::string("the body is not JSON: ") + simdjson::error_message(error);
        return outcome;
    }

    // Every object the decision reads is read to its end: a key met twice there is recorded and
    // refused before any other problem (what the first of two values says is not what the
    // request means), once the uid is known so that even this answer echoes it.
    DuplicateSink duplicates;
    const JsonNode root(parsed, &duplicates);
    AdmissionRequest request;
    std::string problem = decode_request(root, request);
    if (problem.empty() && wants_objects(request)) decode_objects(root, request);
    if (duplicates.key != nullptr) {
        problem = "duplicate key " + path_of_key(parsed, duplicates.key) +
                  " (a decoder that keeps the last value would read another request)";
    }

    outcome.uid = request.uid;
    outcome.kind = clipped(request.kind);
    outcome.operation = problem.empty() ? std::string(to_string(request.operation)) : "";
    outcome.ns = clipped(!request.ns.empty() || !request.object ? request.ns : request.object->ns);
    outcome.name =
        clipped(!request.name.empty() || !request.object ? request.name : request.object->name);
    const std::string_view api_version = request.api_version;
    const std::string_view uid = request.uid;
    AdmissionResponse response =
        problem.empty() ? handle(snapshot, std::move(request), endpoint) : errored(problem);
    outcome.verdict = response.verdict;
    outcome.reason = std::move(response.reason);
    outcome.patched = !response.patch.empty();
    outcome.violations = response.violations;
    outcome.warnings = response.warning_count;
    outcome.rules = std::move(response.rules);
    outcome.response = encode_response(api_version, uid, response);
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
