// libFuzzer target, differential: our review of a body against our review of what a decoder that
// keeps the LAST of duplicate keys (as Kubernetes' encoding/json does; nlohmann's ordered_json
// here) reads from it. For every body both decoders accept, either the answers are the same
// bytes, or ours refuses the body for a duplicate key. Before duplicate keys were refused,
// `"type":"RuntimeDefault","type":"Unconfined"` was allowed here and denied there.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fuzz_snapshot.h"
#include "policy/admission.h"

namespace {

// The message itself, not an echoed uid that happens to contain the words: a `"` inside a value
// is escaped in the response, so this text can only be the status message.
bool refused_for_duplicate(const seccomp_gate::ReviewOutcome& outcome) {
    return outcome.verdict == seccomp_gate::Verdict::kInvalid &&
           outcome.response.find(R"("message":"not a usable AdmissionReview: duplicate key )") !=
               std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (const auto endpoint :
         {seccomp_gate::Endpoint::kValidate, seccomp_gate::Endpoint::kMutate}) {
        const auto ours = seccomp_gate::review(seccomp_gate::fuzz::fuzz_snapshot(), body, endpoint);
        if (ours.verdict == seccomp_gate::Verdict::kNotJson) return 0;
        const auto last_wins = nlohmann::ordered_json::parse(body, nullptr, false);
        if (last_wins.is_discarded()) return 0;  // only bodies both decoders accept
        const std::string reencoded =
            last_wins.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
        const auto theirs =
            seccomp_gate::review(seccomp_gate::fuzz::fuzz_snapshot(), reencoded, endpoint);
        // The re-encoding has no duplicates left to refuse.
        if (refused_for_duplicate(theirs)) std::abort();
        if (ours.response != theirs.response && !refused_for_duplicate(ours)) std::abort();
    }
    return 0;
}
