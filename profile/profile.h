#pragma once
// A seccomp profile in the JSON format the kubelet's runtimes (runc, crun) read, decoded into a
// small typed model. The linter (profile/lint.h) is the only producer: a Profile it returns has
// passed the schema checks, so its strings are the runtime's spellings ("SCMP_ACT_ERRNO",
// "SCMP_ARCH_X86_64", "SCMP_CMP_EQ") and every index is 0 to 5.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seccomp_gate::profile {

// One entry of syscalls[].args: compare argument `index` with `value` (and `value_two` for
// SCMP_CMP_MASKED_EQ, where `value` is the mask).
struct ArgRule {
    unsigned index = 0;
    std::uint64_t value = 0;
    std::uint64_t value_two = 0;
    std::string op;  // SCMP_CMP_EQ, ...
};

struct SyscallRule {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_ERRNO, ...
    std::optional<std::uint32_t> errno_ret;
    std::vector<ArgRule> args;
};

struct Profile {
    std::string default_action;
    std::optional<std::uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_X86_64, ...; empty = native only
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_LOG, ...
    std::string listener_path;
    std::vector<SyscallRule> syscalls;
};

// A default action that lets through every call no rule names (ALLOW, or LOG which allows and
// logs): such a profile blocks only what it lists. The one definition the linter's warning and
// the catalog's `permissive` flag share.
inline bool is_permissive_default(std::string_view default_action) {
    return default_action == "SCMP_ACT_ALLOW" || default_action == "SCMP_ACT_LOG";
}

}  // namespace seccomp_gate::profile
