// libFuzzer target: any bytes through the review entry point, on both endpoints. The response
// must always be answered (never a crash, an exception or a hang) and, when the body is JSON,
// must be an AdmissionReview that denies unless it allows explicitly.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_snapshot.h"
#include "policy/admission.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (const auto endpoint :
         {seccomp_gate::Endpoint::kValidate, seccomp_gate::Endpoint::kMutate}) {
        const auto outcome =
            seccomp_gate::review(seccomp_gate::fuzz::fuzz_snapshot(), body, endpoint);
        if (outcome.response.empty()) std::abort();
        if (outcome.verdict == seccomp_gate::Verdict::kNotJson) continue;
        // Every answer is an AdmissionReview; a denial or an invalid review never says allowed.
        const bool allowed = outcome.response.find("\"allowed\":true") != std::string::npos;
        if (allowed != (outcome.verdict == seccomp_gate::Verdict::kAllowed)) std::abort();
        if (outcome.patched && endpoint != seccomp_gate::Endpoint::kMutate) std::abort();
    }
    return 0;
}
