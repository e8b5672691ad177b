#include "profile/run/try.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <tuple>

#include "profile/run/bpf_eval.h"
#include "profile/run/syscall_names.h"

namespace seccomp_gate::profile::run {
namespace {

// The number of seccomp filters on a task, from /proc/<pid>/status: "Seccomp_filters:" (Linux
// 5.9), else 1 for "Seccomp: 2" (filter mode). nullopt if unreadable.
std::optional<long> filter_count(const std::string& status_path) {
    std::ifstream status(status_path);
    std::string line;
    std::optional<long> mode;
    while (std::getline(status, line)) {
        if (line.starts_with("Seccomp_filters:")) return std::stol(line.substr(16));
        if (line.starts_with("Seccomp:")) mode = std::stol(line.substr(8)) == 2 ? 1 : 0;
    }
    return mode;
}

// Judges each call of the command with the loaded program.
class Judge {
  public:
    Judge(BpfProgram program, long filters_before)
        : program_(std::move(program)), filters_before_(filters_before) {}

    void on_entry(const SyscallEntry& entry, TryOutcome& outcome) {
        if (!filter_in_force(entry)) return;
        seccomp_data data{};
        data.nr = entry.nr;
        data.arch = entry.arch;
        data.instruction_pointer = entry.instruction_pointer;
        for (std::size_t i = 0; i < entry.args.size(); ++i) data.args[i] = entry.args[i];
        const auto ret = program_.evaluate(data);
        if (!ret) {
            outcome.evaluation_error = "the compiled filter could not be evaluated";
            return;
        }
        const std::uint32_t action = *ret & SECCOMP_RET_ACTION_FULL;
        if (action == SECCOMP_RET_ALLOW) return;
        const bool logged = action == SECCOMP_RET_LOG;
        auto& calls = logged ? outcome.logged : outcome.blocked;
        auto& index = logged ? logged_index_ : blocked_index_;
        const std::uint32_t arch = call_arch(entry);
        const auto key = std::make_tuple(arch, entry.nr, *ret);
        auto found = index.find(key);
        if (found == index.end()) {
            FilteredCall call;
            call.name =
                syscall_name(arch, entry.nr).value_or("syscall " + std::to_string(entry.nr));
            call.arch = arch_display_name(arch);
            call.action = *ret;
            found = index.emplace(key, calls.size()).first;
            calls.push_back(std::move(call));
        }
        ++calls[found->second].count;
        if (!logged) outcome.last_blocked = found->second;
    }

  private:
    // The filter applies from the moment the child loaded it: the calls before (our own setup)
    // were not filtered. Loading comes before the exec, and tasks the command starts inherit it.
    bool filter_in_force(const SyscallEntry& entry) {
        if (in_force_ || entry.after_exec) return true;
        const auto filters = filter_count("/proc/" + std::to_string(entry.pid) + "/status");
        in_force_ = filters && *filters > filters_before_;
        return in_force_;
    }

    using Key = std::tuple<std::uint32_t, std::int32_t, std::uint32_t>;
    BpfProgram program_;
    long filters_before_;
    bool in_force_ = false;
    std::map<Key, std::size_t> blocked_index_;
    std::map<Key, std::size_t> logged_index_;
};

}  // namespace

TryOutcome try_command(const Filter& filter, const std::vector<std::string>& command) {
    TryOutcome outcome;
    std::string error;
    std::optional<BpfProgram> program;
    if (const auto bytes = export_bpf(filter, error)) program = BpfProgram::from_bytes(*bytes);
    if (!program) {
        outcome.evaluation_error =
            "cannot read the compiled filter" + (error.empty() ? "" : ": " + error);
    }
    // The child inherits our filters (if we run confined ourselves); only the one it loads is the
    // profile's.
    const long filters_before = filter_count("/proc/self/status").value_or(0);

    // In the child, as runc does with noNewPrivileges: no_new_privs, then the filter, then exec.
    const scmp_filter_ctx ctx = filter.get();
    const PrepareChild prepare = [ctx](const char** what) -> int {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            *what = "prctl(PR_SET_NO_NEW_PRIVS)";
            return errno;
        }
        if (const int rc = seccomp_load(ctx); rc < 0) {
            *what = "seccomp_load";
            return -rc;
        }
        return 0;
    };

    std::optional<Judge> judge;
    if (program) judge.emplace(std::move(*program), filters_before);
    const auto on_entry = [&](const SyscallEntry& entry) {
        if (judge) judge->on_entry(entry, outcome);
    };
    outcome.trace = trace_command(command, prepare, on_entry, /*allow_untraced=*/true);
    if (!outcome.trace.traced) {
        outcome.evaluation_error = "cannot trace the command (" + outcome.trace.trace_error +
                                   "): refused calls are not known";
    }
    return outcome;
}

}  // namespace seccomp_gate::profile::run
