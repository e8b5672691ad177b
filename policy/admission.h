#pragma once
// The AdmissionReview codec and the one entry point the server and `seccomp-gate review` share:
// request bytes in, response bytes out.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/snapshot.h"

namespace seccomp_gate {

enum class Endpoint { kValidate, kMutate };

enum class Verdict {
    kAllowed,  // allowed (possibly with warnings, audit annotations or a patch)
    kDenied,   // allowed: false, status.code 403
    kInvalid,  // not a usable AdmissionReview: allowed: false, status.code 400
    kNotJson,  // the body is not JSON: no AdmissionReview can be answered (HTTP 400)
};

std::string_view to_string(Verdict verdict);

// What the request was about, for logs and metrics.
struct ReviewOutcome {
    Verdict verdict = Verdict::kInvalid;
    std::string response;  // AdmissionReview JSON; for kNotJson the error message
    std::string uid;
    std::string kind;
    std::string ns;
    std::string name;
    std::string operation;
    std::string reason;  // why no evaluation happened: "exempt", "unchanged", ... (empty if judged)
    bool patched = false;
    std::size_t violations = 0;
    std::size_t warnings = 0;
    std::vector<std::string> rules;  // ids of the rules with violations, each once, in report order
};

// Parse buffers kept from one review to the next, so that a steady stream of requests parses
// without allocating. One per thread (the server) or per process; not thread-safe. Buffers grown
// by an unusually large body are released after it, so one 7 MiB request does not pin memory.
class ReviewScratch {
  public:
    ReviewScratch();
    ~ReviewScratch();
    ReviewScratch(const ReviewScratch&) = delete;
    ReviewScratch& operator=(const ReviewScratch&) = delete;

    struct Buffers;
    Buffers& buffers() { return *buffers_; }

  private:
    std::unique_ptr<Buffers> buffers_;
};

ReviewOutcome review(const Snapshot& snapshot, std::string_view body, Endpoint endpoint,
                     ReviewScratch& scratch);
// The same with buffers of its own (the CLI, tests).
ReviewOutcome review(const Snapshot& snapshot, std::string_view body, Endpoint endpoint);

}  // namespace seccomp_gate
