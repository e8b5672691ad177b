#pragma once
// The profile linter: is a seccomp profile one that the kubelet's runtimes (containerd and runc
// through libseccomp) accept and build a filter from, and is it a profile that confines anything?
// One piece of code for profile validity: `seccomp-gate profile lint` prints these findings and
// the webhook's catalog loader rejects any profile with an error among them.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.h"

namespace seccomp_gate::profile {

enum class Severity {
    kError,    // a runtime refuses the profile, or builds something other than it says
    kWarning,  // the runtime takes it, but it is weak or means less than it seems
};

std::string_view to_string(Severity severity);  // "error", "warning"

struct LintFinding {
    Severity severity = Severity::kError;
    std::string check;    // stable id, e.g. "unknown-syscall" (docs/profiles.md lists them)
    std::string field;    // e.g. "syscalls[3].names[1]"; empty for the whole document
    std::string message;  // what is wrong, with the offending value

    // "field: message", or the message alone for the whole document.
    std::string text() const;
};

struct LintReport {
    // The decoded profile; nullopt when the document is not JSON or does not fit the schema.
    std::optional<Profile> profile;
    std::vector<LintFinding> findings;  // in document order, then the whole-profile checks

    bool has_errors() const;
    std::size_t count(Severity severity) const;
};

// The `too-large` limit: a profile whose argument conditions (each rule's conditions counted once
// per name), times its architectures, are more than this is an error, and no filter is built for
// it. libseccomp's time grows faster than the square of them, the webhook and sync-profiles lint
// every catalog file on every reload, and such a filter is already near the kernel's limit of
// 4096 instructions.
inline constexpr std::size_t kMaxCompiledConditions = 1024;

LintReport lint_profile(std::string_view json_text);

// Every check id with its severity and a one-line description (help text, docs, tests).
struct LintCheck {
    std::string_view id;
    Severity severity;
    std::string_view summary;
};
std::span<const LintCheck> lint_checks();

// The system calls the `dangerous-syscall` warning looks for, each with why a container
// should not have it.
struct DangerousSyscall {
    std::string_view name;
    std::string_view why;
};
std::span<const DangerousSyscall> dangerous_syscalls();

}  // namespace seccomp_gate::profile
