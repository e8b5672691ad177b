#pragma once
// `profile try`: runs a command under a profile's filter the way a container runtime applies it
// (no_new_privs, then the filter loaded in the command's process just before execve), and says
// which system calls the filter refused.
//
// How the refusals are known: the command runs under ptrace (profile/run/tracer.h). At each
// system call entry, before the kernel runs the filter, the tracer reads the call exactly as the
// filter will see it (struct seccomp_data: arch, number, arguments, instruction pointer) and runs
// the very BPF program that was loaded (libseccomp's export of the same filter) on it. That names
// the call and the action for every action alike (ERRNO, KILL, TRAP, TRACE, NOTIFY, LOG), never
// needs a second run, and is never fooled by a call that fails with the same errno for another
// reason.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "profile/filter.h"
#include "profile/run/tracer.h"

namespace seccomp_gate::profile::run {

// One distinct (call, architecture, action) the filter answered with something other than
// ALLOW.
struct FilteredCall {
    std::string name;          // "mkdir"; "syscall 462" when libseccomp has no name for it
    std::string arch;          // "SCMP_ARCH_X86_64"
    std::uint32_t action = 0;  // the filter's return value
    std::size_t count = 0;     // how many times
};

struct TryOutcome {
    TraceResult trace;
    std::vector<FilteredCall> blocked;        // refused calls, in order of first refusal
    std::optional<std::size_t> last_blocked;  // index in `blocked` of the last refusal
    std::vector<FilteredCall> logged;         // SCMP_ACT_LOG: ran, and the kernel logged them
    // Empty when every call could be judged; otherwise why not (then `blocked` may miss some).
    std::string evaluation_error;
};

// Runs `command` under `filter` (built by profile::build_filter). Throws std::runtime_error when
// the command cannot be started at all.
TryOutcome try_command(const Filter& filter, const std::vector<std::string>& command);

}  // namespace seccomp_gate::profile::run
