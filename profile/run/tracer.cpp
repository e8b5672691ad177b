#include "profile/run/tracer.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

namespace seccomp_gate::profile::run {
namespace {

constexpr int kSyscallStop = SIGTRAP | 0x80;  // PTRACE_O_TRACESYSGOOD
constexpr std::uintptr_t kOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
                                    PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
                                    PTRACE_O_EXITKILL;
// Exit codes of the child when it never became the command (as shells use them).
constexpr int kExitNotFound = 127;
constexpr int kExitCannotRun = 126;

// What the child sends back when `prepare` or execvp fails (the pipe is close-on-exec, so a
// successful exec sends nothing).
struct SetupFailure {
    int error = 0;
    std::array<char, 64> what{};
};

// ptrace(2) passes numbers (signals, options, sizes) in its pointer-typed arguments.
long trace_request(__ptrace_request request, pid_t pid, std::uintptr_t addr, std::uintptr_t data) {
    return ptrace(request, pid, reinterpret_cast<void*>(addr),  // NOLINT(performance-no-int-to-ptr)
                  reinterpret_cast<void*>(data));               // NOLINT(performance-no-int-to-ptr)
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Ignores SIGINT and SIGQUIT while the command runs, as system() does: a Ctrl-C at the terminal
// reaches the command (its own process group member), and the tracer lives to report how it
// ended. SIGCHLD must not be SIG_IGN, or the kernel would reap the children behind waitpid.
class ParentSignals {
  public:
    ParentSignals() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ignore, &int_);
        sigaction(SIGQUIT, &ignore, &quit_);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &dfl, &chld_);
    }
    ~ParentSignals() {
        sigaction(SIGINT, &int_, nullptr);
        sigaction(SIGQUIT, &quit_, nullptr);
        sigaction(SIGCHLD, &chld_, nullptr);
    }
    ParentSignals(const ParentSignals&) = delete;
    ParentSignals& operator=(const ParentSignals&) = delete;

  private:
    struct sigaction int_ {};
    struct sigaction quit_ {};
    struct sigaction chld_ {};
};

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

[[noreturn]] void child_fails(int report_fd, int error, const char* what) {
    SetupFailure failure;
    failure.error = error;
    std::strncpy(failure.what.data(), what, failure.what.size() - 1);
    [[maybe_unused]] const auto written = write(report_fd, &failure, sizeof failure);
    _exit(error == ENOENT ? kExitNotFound : kExitCannotRun);
}

// The forked child: waits until the tracer is attached (or has given up), runs `prepare`, execs.
[[noreturn]] void run_child(int go_fd, int report_fd, const std::vector<char*>& argv,
                            const PrepareChild& prepare) {
    char go = 0;
    ssize_t got = 0;
    do {
        got = read(go_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    // No go byte: the parent died before releasing us. Never run the command unwatched.
    if (got != 1) _exit(kExitCannotRun);
    close(go_fd);
    if (prepare) {
        const char* what = "preparing the child";
        const int error = prepare(&what);
        if (error != 0) child_fails(report_fd, error, what);
    }
    execvp(argv[0], argv.data());
    child_fails(report_fd, errno, "execvp");
}

// Reads the system call at a syscall-entry stop. False at a syscall-exit stop.
bool read_entry(pid_t pid, SyscallEntry& entry) {
    __ptrace_syscall_info info{};
    if (trace_request(PTRACE_GET_SYSCALL_INFO, pid, sizeof info,
                      reinterpret_cast<std::uintptr_t>(&info)) <= 0) {
        return false;
    }
    if (info.op != PTRACE_SYSCALL_INFO_ENTRY) return false;
    entry.pid = pid;
    entry.arch = info.arch;
    entry.nr = static_cast<std::int32_t>(info.entry.nr);
    entry.instruction_pointer = info.instruction_pointer;
    std::copy(std::begin(info.entry.args), std::end(info.entry.args), entry.args.begin());
    return true;
}

bool is_group_stop_signal(int signal) {
    return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

// The ptrace loop: until no traced task is left (waitpid: ECHILD).
void trace_loop(pid_t root, const std::function<void(const SyscallEntry&)>& on_entry,
                TraceResult& result) {
    bool root_execed = false;
    std::unordered_set<pid_t> seen{root};
    for (;;) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;  // ECHILD: every task has ended
        }
        seen.insert(pid);
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == root) result.wait_status = status;
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        const int signal = WSTOPSIG(status);
        const int event = status >> 16;
        std::uintptr_t inject = 0;
        if (signal == kSyscallStop) {
            SyscallEntry entry;
            if (read_entry(pid, entry)) {
                entry.after_exec = root_execed || pid != root;
                on_entry(entry);
            }
        } else if (event == PTRACE_EVENT_STOP) {
            if (is_group_stop_signal(signal)) {
                // A job-control stop: stay stopped until SIGCONT, as without a tracer.
                trace_request(PTRACE_LISTEN, pid, 0, 0);
                continue;
            }
            // Otherwise the first stop of a new task, or our PTRACE_INTERRUPT: resume.
        } else if (event != 0) {
            if (event == PTRACE_EVENT_EXEC && pid == root) root_execed = true;
        } else {
            inject = static_cast<std::uintptr_t>(signal);  // signal-delivery-stop: deliver it
        }
        // ESRCH here means the task was killed meanwhile; waitpid reports that next.
        trace_request(PTRACE_SYSCALL, pid, 0, inject);
    }
    result.tasks = seen.size();
}

}  // namespace

TraceResult trace_command(const std::vector<std::string>& command, const PrepareChild& prepare,
                          const std::function<void(const SyscallEntry&)>& on_entry,
                          bool allow_untraced) {
    if (command.empty()) throw std::invalid_argument("no command to run");
    std::vector<std::string> args = command;  // argv storage the child's execvp points into
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    std::array<int, 2> go_pipe{};
    std::array<int, 2> report_pipe{};
    if (pipe2(go_pipe.data(), O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe"));
    Fd go_read(go_pipe[0]);
    Fd go_write(go_pipe[1]);
    if (pipe2(report_pipe.data(), O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe"));
    Fd report_read(report_pipe[0]);
    Fd report_write(report_pipe[1]);

    const pid_t child = fork();
    if (child < 0) throw std::runtime_error(errno_text("fork"));
    if (child == 0) {
        close(go_pipe[1]);
        close(report_pipe[0]);
        run_child(go_pipe[0], report_pipe[1], argv, prepare);
    }
    const ParentSignals signals;  // after fork: the command keeps the dispositions we were given
    go_read.reset();
    report_write.reset();

    const auto give_up = [child](const std::string& why) {
        kill(child, SIGKILL);
        int status = 0;
        while (waitpid(child, &status, __WALL) < 0 && errno == EINTR) {
        }
        throw std::runtime_error(why);
    };
    TraceResult result;
    if (trace_request(PTRACE_SEIZE, child, 0, kOptions) == 0) {
        // Stop the child (it waits for the go byte) so that PTRACE_SYSCALL can start the
        // syscall stops before it runs anything of its own.
        int status = 0;
        if (trace_request(PTRACE_INTERRUPT, child, 0, 0) != 0 ||
            waitpid(child, &status, __WALL) != child || !WIFSTOPPED(status) ||
            trace_request(PTRACE_SYSCALL, child, 0, 0) != 0) {
            give_up(errno_text("ptrace"));  // attached but not stepping: neither way works
        }
        result.traced = true;
    } else {
        result.trace_error = errno_text("ptrace(PTRACE_SEIZE)");
        if (!allow_untraced) give_up(result.trace_error);
    }

    const char go = 'g';
    if (write(go_write.get(), &go, 1) != 1) {
        kill(child, SIGKILL);
    }
    go_write.reset();

    if (result.traced) {
        trace_loop(child, on_entry, result);
    } else {
        int status = 0;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        result.wait_status = status;
        result.tasks = 1;
    }

    SetupFailure failure;
    ssize_t got = 0;
    do {
        got = read(report_read.get(), &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(sizeof failure)) {
        failure.what.back() = '\0';
        result.setup_failed = failure.what.data();
        result.setup_errno = failure.error;
    }
    return result;
}

int shell_exit_code(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return 1;
}

std::string describe_wait_status(int wait_status) {
    if (WIFEXITED(wait_status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
    }
    if (WIFSIGNALED(wait_status)) {
        const int signal = WTERMSIG(wait_status);
        const char* abbrev = sigabbrev_np(signal);
        std::string text =
            "killed by signal " +
            (abbrev != nullptr ? "SIG" + std::string(abbrev) : std::to_string(signal)) + " (" +
            strsignal(signal) + ")";
        if (WCOREDUMP(wait_status)) text += ", core dumped";
        return text;
    }
    return "ended with wait status " + std::to_string(wait_status);
}

}  // namespace seccomp_gate::profile::run
