#include "profile/run/record.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "profile/run/syscall_names.h"

namespace seccomp_gate::profile::run {
namespace {

// What runc (1.1, the runtime containerd starts by default) does in the container's
// process between loading the filter and the command's first instruction, seen with
// `strace -f runc run` for both orders runc knows: with noNewPrivileges (OCI default; the filter
// is loaded last, just before the exec) and without it (the Kubernetes default, since
// allowPrivilegeEscalation defaults to true: the filter is loaded before runc drops
// capabilities and switches user). runc is a Go program; the calls its runtime makes on that
// thread are here too. Leaving most of them out makes the container fail to start, before the
// command runs; docs/profiles.md has, for each, what happens without it.
constexpr std::array<RuntimeSyscall, 27> kRuntimeSyscalls{{
    {"capget", "runc reads the capability sets before dropping them (no noNewPrivileges)"},
    {"capset", "runc sets the container's capability sets (no noNewPrivileges)"},
    {"chdir", "runc enters the process's cwd (no noNewPrivileges)"},
    {"close", "runc closes its sync pipe, log pipe and exec fifo descriptors"},
    {"epoll_ctl", "Go registers every file runc opens with its poller"},
    {"execve", "runc's exec of the command itself"},
    {"exit", "a thread ends (Go runtime, and the command's threads)"},
    {"exit_group", "the process ends, also when runc fails before the exec"},
    {"faccessat2", "runc's exec.LookPath checks the command is executable (no noNewPrivileges)"},
    {"fcntl", "runc marks inherited descriptors close-on-exec (else they leak into the command)"},
    {"fstat", "runc checks stdin, stdout and stderr (no noNewPrivileges)"},
    {"fstatfs", "runc checks that /proc/self/fd is on procfs before trusting it"},
    {"futex", "Go: the runc thread sleeps and wakes its other threads"},
    {"getcwd", "runc verifies the working directory (no noNewPrivileges)"},
    {"getdents64", "runc lists /proc/self/fd to close leaked descriptors"},
    {"getpid", "runc passes the container's pid to its start hooks"},
    {"getppid", "runc checks that its parent is still there (no noNewPrivileges)"},
    {"newfstatat", "runc's exec.LookPath stats the command and /dev/null (no noNewPrivileges)"},
    {"openat", "runc opens /proc/self/fd, the exec fifo, /proc/self/status, /etc/passwd"},
    {"prctl", "runc drops the bounding set, sets keep-caps and ambient capabilities"},
    {"read", "runc reads /proc/self/status, /proc/self/setgroups, /etc/passwd, /etc/group"},
    {"rt_sigreturn",
     "returning from a signal handler: Go's preemption signal (SIGURG) reaches "
     "runc's thread after the filter is loaded"},
    {"sched_yield", "Go: a thread spinning on a runtime lock yields"},
    {"setgid", "runc switches to the container's group (no noNewPrivileges)"},
    {"setgroups", "runc sets the supplementary groups (no noNewPrivileges)"},
    {"setuid", "runc switches to the container's user (no noNewPrivileges)"},
    {"write", "runc writes to the exec fifo to say the container has started"},
}};

constexpr std::string_view kAllow = "SCMP_ACT_ALLOW";

}  // namespace

std::span<const RuntimeSyscall> runtime_syscalls() { return kRuntimeSyscalls; }

Recording record_command(const std::vector<std::string>& command) {
    Recording recording;
    const auto on_entry = [&](const SyscallEntry& entry) {
        // Our own setup in the child before the exec is not the command's.
        if (entry.after_exec) recording.calls.emplace(call_arch(entry), entry.nr);
    };
    recording.trace = trace_command(command, {}, on_entry, /*allow_untraced=*/false);
    return recording;
}

AllowList make_allow_list(const std::set<RecordedCall>& calls) {
    AllowList list;
    std::vector<std::uint32_t> arches = machine_architectures();
    std::set<std::string> recorded;
    for (const auto& [arch, nr] : calls) {
        // A task of another ABI (a 32-bit binary on x86_64) needs its architecture listed too.
        if (std::find(arches.begin(), arches.end(), arch) == arches.end()) arches.push_back(arch);
        if (auto name = syscall_name(arch, nr)) {
            recorded.insert(std::move(*name));
        } else {
            list.unnamed.push_back(std::to_string(nr) + " on " + arch_display_name(arch));
        }
    }
    for (const std::uint32_t arch : arches) list.architectures.push_back(arch_display_name(arch));
    std::set<std::string> names = recorded;
    for (const RuntimeSyscall& call : kRuntimeSyscalls) {
        if (names.insert(std::string(call.name)).second) {
            list.runtime_added.emplace_back(call.name);
        }
    }
    std::sort(list.runtime_added.begin(), list.runtime_added.end());
    list.recorded.assign(recorded.begin(), recorded.end());
    list.names.assign(names.begin(), names.end());
    return list;
}

std::string allow_list_profile_json(const AllowList& allow_list) {
    nlohmann::ordered_json profile;
    profile["defaultAction"] = "SCMP_ACT_ERRNO";
    profile["defaultErrnoRet"] = 1;  // EPERM: what programs expect from a refused operation
    profile["architectures"] = allow_list.architectures;
    nlohmann::ordered_json rule;
    rule["names"] = allow_list.names;
    rule["action"] = kAllow;
    profile["syscalls"] = nlohmann::ordered_json::array({rule});
    return profile.dump(2) + "\n";
}

}  // namespace seccomp_gate::profile::run
