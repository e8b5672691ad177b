// `seccomp-gate profile try --profile FILE -- CMD [ARG...]` and
// `seccomp-gate profile record --output FILE -- CMD [ARG...]`: the command line of profile/run/.
// Reports go to stderr so that the command's own stdout stays clean. The exit code is CMD's, so
// seccomp-gate's own failures exit 125, as timeout(1), env(1) and `docker run` do, rather than
// the 2 of the other commands, which CMD may well return itself.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <utility>

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

exit: CMD's own exit status (128 + the signal number when a signal ended it; 127 when CMD was not
      found, 126 when it could not be run), or 125 when seccomp-gate itself failed and CMD did not
      run: a usage error, or a profile that cannot be read, has lint errors or cannot be built.
      The status is CMD's, so a CMD that exits 125 (or 126, 127) looks the same: the report on
      stderr says which (`... exited with status 125` when it was CMD).
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
  --output FILE    where to write the profile; - writes it to stdout, and then CMD's stdout goes
                   to stderr so that stdout holds nothing but the profile. FILE is checked before
                   CMD runs: its temporary file is made first, beside it

exit: CMD's own exit status (128 + the signal number when a signal ended it; the profile is
      written anyway), 127 when CMD was not found and 126 when it could not be run (no profile
      written), or 125 when seccomp-gate itself failed: a usage error, an --output that cannot be
      written (found before CMD runs), or tracing refused. The status is CMD's, so a CMD that
      exits 125 (or 126, 127) looks the same: the report on stderr says which.
)";

// seccomp-gate's own failures: see the top of this file.
constexpr int kExitOwnFailure = 125;

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

std::string errno_text() { return std::strerror(errno); }

bool write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t wrote = write(fd, text.data() + done, text.size() - done);
        if (wrote < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(wrote);
    }
    return true;
}

// Where `record` writes the profile, made ready before CMD runs, so that a bad --output fails at
// once instead of after what may have been a long run.
//
// A file: a temporary file is created beside it now (that checks the directory exists and is
// writable), kept open, written, fsynced and renamed over the file at the end, so that readers (a
// kubelet, sync-profiles) see the old file or the new one, never half of one. It is removed when
// no profile is written. "-": stdout; CMD's stdout is sent to stderr meanwhile, so that stdout
// holds the profile alone.
class ProfileOutput {
  public:
    explicit ProfileOutput(std::string path) : to_stdout_(path == "-"), path_(std::move(path)) {
        if (to_stdout_) {
            std::cout.flush();
            saved_stdout_ = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
            if (saved_stdout_ < 0) throw std::runtime_error("stdout: " + errno_text());
            if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
                const std::string reason = errno_text();
                close(saved_stdout_);
                throw std::runtime_error("cannot send the command's stdout to stderr: " + reason);
            }
            return;
        }
        namespace fs = std::filesystem;
        const fs::path target(path_);
        struct stat info {};
        if (!target.has_filename()) {
            throw std::runtime_error(path_ +
                                     ": names a directory; --output names the profile file");
        }
        if (stat(path_.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
            throw std::runtime_error(path_ + ": is a directory; --output names the profile file");
        }
        const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
        temp_ = (directory / ("." + target.filename().string() + ".XXXXXX")).string();
        // O_CLOEXEC: CMD must not inherit it.
        fd_ = mkostemp(temp_.data(), O_CLOEXEC);
        if (fd_ < 0) {
            const int error = errno;
            throw std::runtime_error(path_ + ": cannot write there: " +
                                     (error == ENOENT ? std::string("its directory does not exist")
                                                      : std::strerror(error)));
        }
        // mkstemp makes it 0600; a profile is not secret, and kubelets run as other users too.
        const mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd_, 0666 & ~mask) != 0) fail("chmod");
    }
    ~ProfileOutput() {
        restore_stdout();
        if (fd_ >= 0) {
            close(fd_);
            unlink(temp_.c_str());
        }
    }
    ProfileOutput(const ProfileOutput&) = delete;
    ProfileOutput& operator=(const ProfileOutput&) = delete;

    bool is_stdout() const { return to_stdout_; }
    std::string name() const { return is_stdout() ? "stdout" : path_; }

    // Writes the profile. Throws std::runtime_error naming the file when that fails.
    void commit(const std::string& text) {
        if (is_stdout()) {
            restore_stdout();
            if (!write_all(STDOUT_FILENO, text))
                throw std::runtime_error("stdout: " + errno_text());
            return;
        }
        if (!write_all(fd_, text)) fail("write");
        if (fsync(fd_) != 0) fail("fsync");
        const int fd = std::exchange(fd_, -1);
        // close() can report a delayed write error (NFS, quota): the rename must not follow it.
        if (close(fd) != 0) {
            const std::string reason = errno_text();
            unlink(temp_.c_str());
            throw std::runtime_error(path_ + ": close: " + reason);
        }
        if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
            const std::string reason = errno_text();
            unlink(temp_.c_str());
            throw std::runtime_error(path_ + ": rename: " + reason);
        }
    }

  private:
    [[noreturn]] void fail(const char* what) {
        const std::string reason = errno_text();
        close(std::exchange(fd_, -1));
        unlink(temp_.c_str());
        throw std::runtime_error(path_ + ": " + what + ": " + reason);
    }
    void restore_stdout() {
        if (saved_stdout_ < 0) return;
        dup2(saved_stdout_, STDOUT_FILENO);
        close(std::exchange(saved_stdout_, -1));
    }

    bool to_stdout_;
    std::string path_;
    std::string temp_;
    int fd_ = -1;
    int saved_stdout_ = -1;
};

// The profile file, read as the catalog and `profile lint` read one: at most io::kMaxProfileBytes
// (a path such as /dev/zero must not be read until memory runs out).
std::string read_profile(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
        throw std::runtime_error(path + ": is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open: " + errno_text());
    std::string content(io::kMaxProfileBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    if (in.bad()) throw std::runtime_error(path + ": read error");
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > io::kMaxProfileBytes) {
        throw std::runtime_error(path + ": larger than " + std::to_string(io::kMaxProfileBytes) +
                                 " bytes, the catalog's limit for a profile file");
    }
    return content;
}

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words) text += (text.empty() ? "" : ", ") + word;
    return text;
}

int run_try(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"profile"}, {});
    if (args.help) {
        std::cout << kTryHelp;
        return kExitOk;
    }
    const std::string path = args.required("profile");
    const std::vector<std::string> command = command_after_dashes(args, "try");

    const std::string prefix = "seccomp-gate profile try: ";
    const std::string text = read_profile(path);
    const profile::LintReport report = profile::lint_profile(text);
    if (report.has_errors() || !report.profile) {
        for (const auto& finding : report.findings) {
            if (finding.severity != profile::Severity::kError) continue;
            std::cerr << prefix << path << ": " << finding.text() << " [" << finding.check << "]\n";
        }
        std::cerr << prefix << path << ": the profile has lint errors; not running the command\n";
        return kExitOwnFailure;
    }
    std::string error;
    const profile::Filter filter = profile::build_filter(*report.profile, error);
    if (!filter) {
        std::cerr << prefix << path << ": " << error << "\n";
        return kExitOwnFailure;
    }
    const profile::run::TryOutcome outcome = profile::run::try_command(filter, command);
    print_try_report(path, command, outcome);
    return exit_code(outcome.trace);
}

int run_record(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"output"}, {});
    if (args.help) {
        std::cout << kRecordHelp;
        return kExitOk;
    }
    const std::string output_path = args.required("output");
    if (output_path.empty()) throw UsageError("--output needs a file name (or - for stdout)");
    const std::vector<std::string> command = command_after_dashes(args, "record");

    const std::string prefix = "seccomp-gate profile record: ";
    ProfileOutput output(output_path);
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
        return kExitOwnFailure;
    }
    output.commit(json);

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
    std::cerr << prefix << "wrote " << (output.is_stdout() ? "the profile to " : "")
              << output.name() << ": " << allow_list.names.size() << " system calls allowed on "
              << join(allow_list.architectures) << "\n";
    return exit_code(trace);
}

// Runs a command function, printing its failures with its own name ("seccomp-gate profile
// record: ...") and exiting kExitOwnFailure: the dispatcher's generic handlers would say
// "seccomp-gate profile" and exit 2, which CMD may return too.
template <typename Body>
int reporting_failures(const char* name, Body body) {
    const std::string prefix = std::string("seccomp-gate profile ") + name + ": ";
    try {
        return body();
    } catch (const UsageError& error) {
        std::cerr << prefix << error.what() << " (see seccomp-gate profile " << name
                  << " --help)\n";
    } catch (const std::exception& error) {
        std::cerr << prefix << error.what() << "\n";
    }
    return kExitOwnFailure;
}

}  // namespace

int profile_try_command(const std::vector<std::string>& argv) {
    return reporting_failures("try", [&] { return run_try(argv); });
}

int profile_record_command(const std::vector<std::string>& argv) {
    return reporting_failures("record", [&] { return run_record(argv); });
}

}  // namespace seccomp_gate::cli
