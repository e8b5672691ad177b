#pragma once
// System call numbers as a traced task makes them -> the names a profile uses, through
// libseccomp's own tables (seccomp_syscall_resolve_num_arch): the names runc resolves back.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "profile/run/tracer.h"

namespace seccomp_gate::profile::run {

// libseccomp's architecture token for a traced call: the task's AUDIT_ARCH_*, except that x32
// calls (AUDIT_ARCH_X86_64 with __X32_SYSCALL_BIT in the number) are SCMP_ARCH_X32.
std::uint32_t call_arch(const SyscallEntry& entry);

// libseccomp's name for `nr` on `arch`; nullopt when this libseccomp does not know the number
// (a system call newer than its tables).
std::optional<std::string> syscall_name(std::uint32_t arch, std::int32_t nr);

// "SCMP_ARCH_X86_64"; "arch 0x..." when libseccomp does not know the token.
std::string arch_display_name(std::uint32_t arch);

// This machine's architectures as runtimes list them: the native one, then the compat ABIs its
// kernel can run (x86_64: x86 and x32; aarch64: arm; ...), as Docker's and containers-common's
// archMap pair them.
std::vector<std::uint32_t> machine_architectures();

}  // namespace seccomp_gate::profile::run
