#pragma once
// `profile record`: runs a command under ptrace (profile/run/tracer.h), collects every system
// call it and the processes and threads it starts make, and turns them into an allow-list
// profile in the runtime format.

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "profile/run/tracer.h"

namespace seccomp_gate::profile::run {

// (libseccomp architecture token, system call number), as the filter would see the call.
using RecordedCall = std::pair<std::uint32_t, std::int32_t>;

struct Recording {
    TraceResult trace;
    std::set<RecordedCall> calls;  // from the command's exec on
};

// Runs `command` to completion under the tracer. Throws std::runtime_error when it cannot be
// started or traced.
Recording record_command(const std::vector<std::string>& command);

// A system call the container runtime itself makes in the container's process after it has
// loaded the filter, so every profile must allow it, whatever the command does.
struct RuntimeSyscall {
    std::string_view name;
    std::string_view why;
};
std::span<const RuntimeSyscall> runtime_syscalls();

struct AllowList {
    std::vector<std::string> architectures;  // SCMP_ARCH_*: this machine's, native first
    std::vector<std::string> names;          // what the profile allows: sorted, unique
    std::vector<std::string> recorded;       // the names the command made, sorted
    std::vector<std::string> runtime_added;  // runtime_syscalls() the command did not make
    // Calls with no name in libseccomp's tables ("462 on SCMP_ARCH_X86_64"): a profile cannot
    // name them, so they are left out (a runtime built on the same libseccomp cannot allow them
    // either).
    std::vector<std::string> unnamed;
};

AllowList make_allow_list(const std::set<RecordedCall>& calls);

// The profile: defaultAction SCMP_ACT_ERRNO with defaultErrnoRet 1 (EPERM), the architectures,
// one SCMP_ACT_ALLOW rule with the names. Pretty-printed JSON, ending in a newline.
std::string allow_list_profile_json(const AllowList& allow_list);

}  // namespace seccomp_gate::profile::run
