// `seccomp-gate profile try --profile FILE -- CMD [ARG...]` and
// `seccomp-gate profile record --output FILE -- CMD [ARG...]`: the command line of profile/run/.
// Reports go to stderr so that the command's own stdout stays clean.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "cli/args.h"
#include "cli/commands.h"
#include "policy/io/files.h"
#include "profile/filter.h"
#include "profile/lint.h"
#include "profile/run/bpf_eval.h"
#include "profile/run/record.h"
#include "profile/run/syscall_names.h"
#include "profile/run/try.h"

namespace seccomp_gate::cli {
namespace {

constexpr const char* kTryHelp = R"(usage: seccomp-gate profile try --profile FILE -- CMD [ARG...]

Runs CMD under the profile on this kernel, the way a container runtime applies it: the profile
is linted and built into a filter as runc builds it, then in CMD's process no_new_privs is set
and the filter loaded just before the exec. When CMD ends, a report on stderr says how (exit
status or signal) and which system calls the profile refused, each with the action it took
(SCMP_ACT_ERRNO(EPERM), SCMP_ACT_KILL_PROCESS, ...) and how often, and which calls it only
logged (SCMP_ACT_LOG). CMD's stdin, stdout and stderr are its own.

CMD runs under ptrace: at each system call the compiled filter is run on the call as the kernel
sees it, so the refused calls are exact, also for calls of CMD's children and threads. (So CMD
cannot itself be a debugger, and set-user-ID programs do not gain privileges, as with
no_new_privs anyway.)

options:
  --profile FILE   the seccomp profile (the runtime's JSON format)

exit: CMD's exit status (128 + the signal number when a signal ended it; 127 when CMD was not
      found, 126 when it could not be run), 2 for usage errors and for a profile that cannot be
      read, has lint errors or cannot be built
)";

constexpr const char* kRecordHelp =
    R"(usage: seccomp-gate profile record --output FILE -- CMD [ARG...]

Runs CMD, records every system call that it and all the processes and threads it starts make
(under ptrace), and writes an allow-list profile to FILE (atomically: a temporary file renamed
over FILE): defaultAction SCMP_ACT_ERRNO with defaultErrnoRet 1 (EPERM), this machine's
architectures (the native one and its compat ABIs), and one SCMP_ACT_ALLOW rule naming the
recorded calls (libseccomp's names for the numbers) plus the calls a container runtime makes in
the container's process after loading the filter (runc: execve, capset, ...; docs/profiles.md
says why each). The profile passes `seccomp-gate profile lint`. It allows what this run did:
exercise every code path CMD will take (then check it with `seccomp-gate profile try`).

options:
  --output FILE    where to write the profile

exit: CMD's exit status (128 + the signal number when a signal ended it; the profile is written
      anyway), 127 when CMD was not found and 126 when it could not be run (no profile written),
      2 for usage errors and when the profile cannot be written
)";

// The command as a shell would read it back: `sh -c 'mkdir x'`.
std::string shell_words(const std::vector<std::string>& command) {
    std::string text;
    for (const std::string& word : command) {
        if (!text.empty()) text += ' ';
        const bool plain = !word.empty() && word.find_first_not_of(
                                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
                                                "YZ0123456789_-./=:,+@%") == std::string::npos;
        if (plain) {
            text += word;
            continue;
        }
        text += '\'';
        for (const char c : word) text += c == '\'' ? std::string("'\\''") : std::string(1, c);
        text += '\'';
    }
    return text;
}

std::vector<std::string> command_after_dashes(const Args& args, const char* name) {
    if (!args.positionals.empty()) {
        throw UsageError(std::string("the command goes after --: seccomp-gate profile ") + name +
                         " ... -- " + shell_words(args.positionals));
    }
    if (args.command.empty()) throw UsageError("no command: give it after --");
    return args.command;
}

// "exited with status 1" and, when CMD never ran, why.
std::string how_it_ended(const profile::run::TraceResult& trace) {
    if (!trace.setup_failed.empty()) {
        return std::string("could not be run: ") + trace.setup_failed + ": " +
               std::strerror(trace.setup_errno);
    }
    return profile::run::describe_wait_status(trace.wait_status);
}

int exit_code(const profile::run::TraceResult& trace) {
    return profile::run::shell_exit_code(trace.wait_status);
}

std::string list_names(const std::vector<profile::run::FilteredCall>& calls) {
    std::string text;
    for (const auto& call : calls) text += (text.empty() ? "" : ", ") + call.name;
    return text;
}

void print_try_report(const std::string& profile_path, const std::vector<std::string>& command,
                      const profile::run::TryOutcome& outcome) {
    const std::string prefix = "seccomp-gate profile try: ";
    const std::string native =
        profile::run::arch_display_name(profile::run::machine_architectures().front());
    std::cerr << prefix << "`" << shell_words(command) << "` under " << profile_path << " "
              << how_it_ended(outcome.trace) << "\n";
    if (!outcome.evaluation_error.empty()) {
        std::cerr << prefix << "warning: " << outcome.evaluation_error << "\n";
    }
    if (outcome.blocked.empty()) {
        if (outcome.evaluation_error.empty()) {
            std::cerr << prefix << "the profile refused no system call\n";
        }
    } else {
        std::cerr << prefix << "the profile refused " << outcome.blocked.size()
                  << (outcome.blocked.size() == 1 ? " system call" : " system calls")
                  << " (in order of first refusal):\n";
        for (std::size_t i = 0; i < outcome.blocked.size(); ++i) {
            const auto& call = outcome.blocked[i];
            std::cerr << "  " << call.name;
            if (call.arch != native) std::cerr << " [" << call.arch << "]";
            std::cerr << ": " << profile::run::describe_action(call.action) << ", " << call.count
                      << (call.count == 1 ? " time" : " times");
            if (outcome.last_blocked == i && outcome.blocked.size() > 1) {
                std::cerr << " (refused last)";
            }
            std::cerr << "\n";
        }
    }
    if (!outcome.logged.empty()) {
        std::cerr << prefix << "the profile let through and logged (SCMP_ACT_LOG) "
                  << outcome.logged.size()
                  << (outcome.logged.size() == 1 ? " system call: " : " system calls: ")
                  << list_names(outcome.logged) << "\n";
    }
}

// Writes `text` to `path` through a temporary file in the same directory and rename(2), so that
// readers (a kubelet, sync-profiles) see the old file or the new one, never half of one.
void write_atomically(const std::string& path, const std::string& text) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string temp = (directory / ("." + target.filename().string() + ".XXXXXX")).string();
    const int fd = mkstemp(temp.data());
    if (fd < 0)
        throw std::runtime_error(path +
                                 ": cannot create a file beside it: " + std::strerror(errno));
    const auto fail = [&](const char* what) {
        const std::string reason = std::strerror(errno);
        close(fd);
        unlink(temp.c_str());
        throw std::runtime_error(path + ": " + what + ": " + reason);
    };
    // mkstemp makes it 0600; a profile is not secret, and kubelets run as other users too.
    const mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) fail("chmod");
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t wrote = write(fd, text.data() + done, text.size() - done);
        if (wrote < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        done += static_cast<std::size_t>(wrote);
    }
    if (fsync(fd) != 0) fail("fsync");
    if (close(fd) != 0) {
        const std::string reason = std::strerror(errno);
        unlink(temp.c_str());
        throw std::runtime_error(path + ": close: " + reason);
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        unlink(temp.c_str());
        throw std::runtime_error(path + ": rename: " + reason);
    }
}

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words) text += (text.empty() ? "" : ", ") + word;
    return text;
}

}  // namespace

int profile_try_command(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"profile"}, {});
    if (args.help) {
        std::cout << kTryHelp;
        return kExitOk;
    }
    const std::string path = args.required("profile");
    const std::vector<std::string> command = command_after_dashes(args, "try");

    const std::string text = io::read_file(path);
    const profile::LintReport report = profile::lint_profile(text);
    if (report.has_errors() || !report.profile) {
        for (const auto& finding : report.findings) {
            if (finding.severity != profile::Severity::kError) continue;
            std::cerr << "seccomp-gate profile try: " << path << ": " << finding.text() << " ["
                      << finding.check << "]\n";
        }
        std::cerr << "seccomp-gate profile try: " << path
                  << ": the profile has lint errors; not running the command\n";
        return kExitBadInput;
    }
    std::string error;
    const profile::Filter filter = profile::build_filter(*report.profile, error);
    if (!filter) {
        std::cerr << "seccomp-gate profile try: " << path << ": " << error << "\n";
        return kExitBadInput;
    }
    const profile::run::TryOutcome outcome = profile::run::try_command(filter, command);
    print_try_report(path, command, outcome);
    return exit_code(outcome.trace);
}

int profile_record_command(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"output"}, {});
    if (args.help) {
        std::cout << kRecordHelp;
        return kExitOk;
    }
    const std::string output = args.required("output");
    if (output.empty()) throw UsageError("--output needs a file name");
    const std::vector<std::string> command = command_after_dashes(args, "record");

    const std::string prefix = "seccomp-gate profile record: ";
    const profile::run::Recording recording = profile::run::record_command(command);
    const profile::run::TraceResult& trace = recording.trace;
    std::cerr << prefix << "`" << shell_words(command) << "` " << how_it_ended(trace) << "\n";
    if (!trace.setup_failed.empty()) {
        std::cerr << prefix << "no profile written\n";
        return exit_code(trace);
    }

    const profile::run::AllowList allow_list = profile::run::make_allow_list(recording.calls);
    const std::string json = profile::run::allow_list_profile_json(allow_list);
    // What record writes must be what lint accepts; checked here rather than trusted.
    const profile::LintReport lint = profile::lint_profile(json);
    if (lint.has_errors()) {
        for (const auto& finding : lint.findings) {
            if (finding.severity == profile::Severity::kError) {
                std::cerr << prefix
                          << "internal error: the recorded profile fails lint: " << finding.text()
                          << " [" << finding.check << "]\n";
            }
        }
        return kExitBadInput;
    }
    write_atomically(output, json);

    std::cerr << prefix << "recorded " << allow_list.recorded.size() << " system calls from "
              << trace.tasks << (trace.tasks == 1 ? " task" : " tasks (processes and threads)")
              << "; added " << allow_list.runtime_added.size()
              << " that the container runtime makes before the exec";
    if (!allow_list.runtime_added.empty())
        std::cerr << " (" << join(allow_list.runtime_added) << ")";
    std::cerr << "\n";
    if (!allow_list.unnamed.empty()) {
        std::cerr << prefix << "warning: left out calls libseccomp has no name for: "
                  << join(allow_list.unnamed) << "\n";
    }
    if (exit_code(trace) != 0) {
        std::cerr << prefix
                  << "warning: the command failed; the profile allows only what this "
                     "run did\n";
    }
    std::cerr << prefix << "wrote " << output << ": " << allow_list.names.size()
              << " system calls allowed on " << join(allow_list.architectures) << "\n";
    return exit_code(trace);
}

}  // namespace seccomp_gate::cli
