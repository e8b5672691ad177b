#pragma once

#include <string>
#include <string_view>

namespace seccomp_gate {

// Standard base64 with padding (RFC 4648 section 4), as AdmissionResponse.patch needs.
std::string base64_encode(std::string_view data);

}  // namespace seccomp_gate
