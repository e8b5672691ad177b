#pragma once
// Runs a command under ptrace and reports every system call entry of it and of every process and
// thread it starts (PTRACE_O_TRACEFORK/VFORK/CLONE/EXEC, PTRACE_O_TRACESYSGOOD). The tracer only
// watches: it never changes a call, and signals reach the command as they would without it.
//
// Why ptrace: it follows children without their cooperation and sees every call at entry with
// its architecture, number, arguments and instruction pointer (PTRACE_GET_SYSCALL_INFO, Linux
// 5.3), which is exactly the struct seccomp_data a filter sees. The entry stop comes before the
// kernel runs the seccomp filter, so calls the filter refuses are seen too.

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace seccomp_gate::profile::run {

// One system call at entry, as the seccomp filter of the calling task sees it.
struct SyscallEntry {
    pid_t pid = 0;           // the calling task (thread id)
    std::uint32_t arch = 0;  // AUDIT_ARCH_* (the same value as libseccomp's SCMP_ARCH_*)
    std::int32_t nr = 0;     // as seccomp sees it (x32 calls carry __X32_SYSCALL_BIT)
    std::uint64_t instruction_pointer = 0;
    std::array<std::uint64_t, 6> args{};
    // False for the calls the command's own process makes before its first execve (the setup
    // that `prepare` does), true from the exec on and for every task started after it.
    bool after_exec = false;
};

struct TraceResult {
    int wait_status = 0;  // the command's process, as waitpid reports it
    // `prepare` or execvp failed in the child: which one, and the errno.
    std::string setup_failed;  // "" or "execvp" or what `prepare` named
    int setup_errno = 0;
    bool traced = false;  // false: ptrace refused (trace_error says why); ran untraced
    std::string trace_error;
    std::size_t tasks = 0;  // processes and threads seen (the command's included)
};

// What runs in the forked child, after the tracer has attached and just before execvp: returns 0,
// or an errno and sets *what to a static description of what failed. Only async-signal-safe
// work and the caller's own (already built) state: the parent is single-threaded, so that includes
// libseccomp's seccomp_load.
using PrepareChild = std::function<int(const char** what)>;

// Runs `command` (argv, looked up in PATH as execvp does) to completion: until the command and
// every task it started have ended. Calls `on_entry` for each system call entry. `allow_untraced`:
// when ptrace is refused, still run the command (traced = false) instead of failing.
// Throws std::runtime_error when the command cannot be started at all (fork, pipe).
TraceResult trace_command(const std::vector<std::string>& command, const PrepareChild& prepare,
                          const std::function<void(const SyscallEntry&)>& on_entry,
                          bool allow_untraced);

// The exit code a shell would give for `wait_status`: the exit status, or 128 + the signal.
int shell_exit_code(int wait_status);

// "exited with status 1", "killed by signal SIGSYS (Bad system call)".
std::string describe_wait_status(int wait_status);

}  // namespace seccomp_gate::profile::run
