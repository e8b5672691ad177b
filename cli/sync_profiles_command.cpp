// `seccomp-gate sync-profiles --from DIR --to DIR [--watch]`: the node side of the catalog. The
// file-system work is policy/io/profile_sync.h; this file has the flags, the reports and the
// --watch loop (inotify on --from, a periodic re-sync, signals).

#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "policy/io/profile_sync.h"
#include "policy/policy_config.h"
#include "webhook/logging.h"

namespace seccomp_gate::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kHelp =
    R"(usage: seccomp-gate sync-profiles --from DIR --to DIR [--watch [--interval SECONDS]
                                  [--health-file PATH]] [--dry-run] [--allow-empty]
       seccomp-gate sync-profiles --check-health PATH [--max-age DURATION]

The node side of the catalog: installs the profiles of --from (the catalog, e.g. the catalog
ConfigMap mounted in a DaemonSet pod) into --to, the prefix directory under the kubelet's seccomp
root (<kubelet-root>/seccomp/<prefix>, e.g. /var/lib/kubelet/seccomp/seccomp-gate), where a pod's
Localhost profile "<prefix>/<path>" is read. Nested directories are kept: <from>/team/api.json
becomes <to>/team/api.json.

  Checked:  only files that pass the catalog checks (the profiles the webhook admits) are
            installed. A rejected file gets one line on stderr with its reason and is not
            installed; when an earlier sync installed it, that last good copy stays in place, so
            that a broken ConfigMap edit never takes away a profile that restarting pods need.
  Atomic:   each file is written to a temporary file in its directory, fsynced, renamed over the
            target, and the directory fsynced: readers see the old profile or the new one, never
            a part. Unchanged files are not rewritten. Files get mode 0644, directories 0755.
  Owned:    the files it installed are listed in --to/.seccomp-gate-sync.json (the state file).
            Only those are removed when they leave the catalog, and only while they still hold
            the bytes it wrote; files that anything else put in --to are never removed, so --to
            may even be the kubelet's seccomp root itself (catalog prefix ""). A catalog file
            whose name is taken in --to by a file it did not install is replaced and adopted (the
            catalog decides what "<prefix>/<path>" is). Symlinks inside --to are never followed.
            An empty --from never removes installed profiles without --allow-empty (an empty
            catalog is far more often a broken mount than an intent).
  --to is created when its parent exists (a missing parent is reported: a wrong kubelet root);
  two syncs on the same --to take turns (flock on the directory).

options:
  --from DIR          the catalog directory; a ConfigMap mount's ..data symlink swap is followed
  --to DIR            the destination prefix directory
  --watch             keep running: re-sync after every change under --from (inotify, including
                      the kubelet's ..data swap; debounced 200 ms) and every --interval in case an
                      event was missed; one JSON line per sync on stderr. SIGTERM or SIGINT stop
                      it with exit 0. A sync that fails later is logged and retried.
  --interval SECONDS  the periodic re-sync of --watch (default 60, 1 to 86400); files whose bytes
                      were checked by an earlier sync are not checked again
  --health-file PATH  with --watch: rewrite PATH (atomically) at start, after every sync attempt and
                      every 30 s, so that a liveness probe can tell the loop is turning; a PATH that
                      cannot be written at start is an error (exit 2)
  --dry-run           print what would change (one line per file on stdout); change nothing
  --allow-empty       let an empty --from remove every profile installed earlier

  --check-health PATH the liveness probe (the image has no shell): exit 0 when PATH, the
                      --health-file of a running --watch, was written at most --max-age ago
                      (default 5m; a number of seconds, or with s, m or h: 90s, 5m, 1h), else
                      exit 1 with the reason on stderr

exit: 0 in sync, 1 some profiles were rejected (everything else is in sync), 2 usage, --from
      unreadable, --to unusable, or a file that could not be written or removed;
      --check-health: 0 fresh, 1 stale, missing or not a health file, 2 usage
)";

constexpr const char* kPrefix = "seccomp-gate sync-profiles: ";
constexpr int kDefaultIntervalSeconds = 60;
constexpr int kMaxIntervalSeconds = 86400;
// Editors and the kubelet make several changes in a row: wait for a short quiet spell, but not
// forever when the changes never stop.
constexpr milliseconds kDebounce{200};
constexpr milliseconds kMaxDebounce{2000};
constexpr milliseconds kFirstRetry{1000};
// A catalog is a few hundred files; a directory loop must not make the walk endless.
constexpr std::size_t kMaxWatchedDirectories = 10000;
// How often the loop rewrites --health-file while it waits, whatever --interval is: the probe's
// --max-age then need not depend on --interval.
constexpr std::chrono::seconds kHealthBeat{30};
constexpr std::chrono::seconds kDefaultMaxAge{300};
constexpr std::chrono::seconds kMaxMaxAge{7 * 86400};

bool is_within(const fs::path& inner, const fs::path& outer) {
    auto inner_it = inner.begin();
    for (auto outer_it = outer.begin(); outer_it != outer.end(); ++outer_it, ++inner_it) {
        if (outer_it->empty()) continue;  // the empty last element of a trailing slash
        if (inner_it == inner.end() || *inner_it != *outer_it) return false;
    }
    return true;
}

int parse_interval(const std::string& text) {
    int seconds = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (error != std::errc() || end != text.data() + text.size() || seconds < 1 ||
        seconds > kMaxIntervalSeconds) {
        throw UsageError("--interval must be a whole number of seconds from 1 to " +
                         std::to_string(kMaxIntervalSeconds) + ", not \"" + text + "\"");
    }
    return seconds;
}

// "300", "300s", "5m", "1h".
std::chrono::seconds parse_max_age(const std::string& text) {
    std::int64_t number = 0;
    const char* end = text.data() + text.size();
    const auto [unit, error] = std::from_chars(text.data(), end, number);
    std::int64_t scale = 0;
    if (error == std::errc() && unit + 1 >= end) {
        const char suffix = unit == end ? 's' : *unit;
        scale = suffix == 's' ? 1 : suffix == 'm' ? 60 : suffix == 'h' ? 3600 : 0;
    }
    if (scale == 0 || number < 1 || number > kMaxMaxAge.count() / scale) {
        throw UsageError("--max-age must be a duration from 1s to 168h (300, 90s, 5m, 1h), not \"" +
                         text + "\"");
    }
    return std::chrono::seconds(number * scale);
}

// The clock of the health file: CLOCK_BOOTTIME never jumps with the wall clock and counts suspend.
std::chrono::milliseconds boot_time() {
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return std::chrono::duration_cast<milliseconds>(std::chrono::seconds(now.tv_sec) +
                                                    std::chrono::nanoseconds(now.tv_nsec));
}

int check_health_command(const Args& args) {
    for (const char* other : {"from", "to", "interval", "health-file"}) {
        if (args.value(other)) {
            throw UsageError(std::string("--check-health cannot be used with --") + other);
        }
    }
    for (const char* other : {"watch", "dry-run", "allow-empty"}) {
        if (args.flag(other)) {
            throw UsageError(std::string("--check-health cannot be used with --") + other);
        }
    }
    const std::string path = *args.value("check-health");
    if (path.empty()) throw UsageError("--check-health needs a file name");
    const std::chrono::seconds max_age =
        args.value("max-age") ? parse_max_age(*args.value("max-age")) : kDefaultMaxAge;
    const std::string problem = io::check_health_file(path, max_age, boot_time());
    if (problem.empty()) return kExitOk;
    std::cerr << kPrefix << "unhealthy: " << problem << "\n";
    return kExitFindings;
}

std::string joined(const fs::path& directory, const std::string& relative) {
    return (directory / relative).string();
}

int exit_code(const io::SyncReport& report) {
    if (!report.errors.empty()) return kExitBadInput;
    return report.plan.rejected.empty() ? kExitOk : kExitFindings;
}

// One-shot mode: plain lines for a person (or an init container's log).
void print_report(const io::SyncReport& report, const fs::path& from, const fs::path& to) {
    const io::SyncPlan& plan = report.plan;
    for (const std::string& warning : plan.warnings) {
        std::cerr << kPrefix << "warning: " << warning << "\n";
    }
    for (const io::SyncRejection& rejection : plan.rejected) {
        std::cerr << kPrefix << joined(from, rejection.file) << ": rejected: " << rejection.reason
                  << (rejection.kept_installed_copy ? "; the copy installed earlier stays"
                                                    : "; not installed")
                  << "\n";
    }
    for (const io::PlannedChange& change : plan.changes) {
        const bool worth_saying = change.action == io::SyncAction::kRelease ||
                                  (change.action == io::SyncAction::kUpdate && change.foreign);
        if (worth_saying) {
            std::cerr << kPrefix << "warning: " << joined(to, change.path) << ": " << change.note
                      << "\n";
        }
        if (!report.applied && change.action != io::SyncAction::kUnchanged) {
            std::cout << io::to_string(change.action) << " " << change.path << "\n";
        }
    }
    for (const io::SyncError& error : report.errors) {
        std::cerr << kPrefix << joined(to, error.path) << ": " << error.message << "\n";
    }
    std::cerr << kPrefix << to.string() << ": " << (report.applied ? "" : "dry run: ")
              << report.count(io::SyncAction::kInstall) << " installed, "
              << report.count(io::SyncAction::kUpdate) << " updated, "
              << report.count(io::SyncAction::kRemove) << " removed, "
              << report.count(io::SyncAction::kUnchanged) << " unchanged, " << plan.rejected.size()
              << " rejected";
    if (!report.errors.empty()) std::cerr << ", " << report.errors.size() << " failed";
    std::cerr << "\n";
}

// Watches --from and every directory below it (a plain tree changes in its subdirectories; a
// ConfigMap mount changes at the top, where the kubelet swaps ..data). Missing an event is not
// fatal: the periodic re-sync catches up.
class TreeWatch {
  public:
    explicit TreeWatch(fs::path root)
        : root_(std::move(root)), fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        if (fd_ < 0) error_ = std::system_category().message(errno);
    }
    ~TreeWatch() {
        if (fd_ >= 0) ::close(fd_);
    }
    TreeWatch(const TreeWatch&) = delete;
    TreeWatch& operator=(const TreeWatch&) = delete;

    int fd() const { return fd_; }
    // Why inotify is not (fully) working, empty when it is.
    const std::string& error() const { return error_; }

    // Adds a watch to every directory of the tree (the kernel keeps one per inode, so adding it
    // again is harmless; the kernel drops those of deleted directories). Called before each sync,
    // so a directory created since the last one is watched before it is read.
    void refresh() {
        if (fd_ < 0) return;
        error_.clear();
        add(root_);
        std::error_code error;
        fs::recursive_directory_iterator it(root_, fs::directory_options::none, error);
        std::size_t count = 0;
        for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
            // The ..2026_... directories of a ConfigMap mount never change in place.
            if (it->path().filename().string().starts_with("..") ||
                it->symlink_status(error).type() != fs::file_type::directory) {
                it.disable_recursion_pending();
                continue;
            }
            if (++count > kMaxWatchedDirectories) break;
            add(it->path());
        }
    }

    // Reads every pending event; true when there was at least one.
    bool drain() {
        if (fd_ < 0) return false;
        bool any = false;
        alignas(inotify_event) char buffer[16384];
        for (;;) {
            const ssize_t got = ::read(fd_, buffer, sizeof buffer);
            if (got > 0) {
                any = true;
                continue;
            }
            if (got < 0 && errno == EINTR) continue;
            return any;
        }
    }

  private:
    void add(const fs::path& directory) {
        constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                        IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                        IN_MOVE_SELF | IN_ONLYDIR;
        if (::inotify_add_watch(fd_, directory.c_str(), kMask) < 0 && error_.empty()) {
            // ENOSPC: fs.inotify.max_user_watches is used up on this node.
            error_ = directory.string() + ": " + std::system_category().message(errno);
        }
    }

    fs::path root_;
    int fd_;
    std::string error_;
};

// Blocks SIGTERM and SIGINT and delivers them through a file descriptor, so that they are seen
// between syncs (a sync is never cut in the middle) and by the same poll() as inotify.
class SignalFd {
  public:
    SignalFd() {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGTERM);
        sigaddset(&signals_, SIGINT);
        ::sigprocmask(SIG_BLOCK, &signals_, &previous_);
        fd_ = ::signalfd(-1, &signals_, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd_ < 0) {
            throw ConfigError("cannot receive signals: " + std::system_category().message(errno));
        }
    }
    ~SignalFd() {
        ::close(fd_);
        ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
    }
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;

    int fd() const { return fd_; }
    // The signal received, or 0.
    int take() const {
        signalfd_siginfo info{};
        const ssize_t got = ::read(fd_, &info, sizeof info);
        return got == static_cast<ssize_t>(sizeof info) ? static_cast<int>(info.ssi_signo) : 0;
    }

  private:
    sigset_t signals_{};
    sigset_t previous_{};
    int fd_ = -1;
};

class Watcher {
  public:
    Watcher(fs::path from, fs::path to, io::SyncOptions options, int interval_seconds,
            fs::path health_file)
        : from_(std::move(from)),
          to_(std::move(to)),
          options_(options),
          interval_(std::chrono::seconds(interval_seconds)),
          health_file_(std::move(health_file)),
          watch_(from_) {}

    int run() {
        const SignalFd signals;
        watch_.refresh();
        logger_.info("watching", {{"from", from_.string()},
                                  {"to", to_.string()},
                                  {"interval_s", static_cast<std::int64_t>(interval_.count())},
                                  {"inotify", watch_.fd() >= 0},
                                  {"health_file", health_file_.string()}});
        if (!watch_.error().empty()) warn_inotify();
        // Misconfiguration shows at once (CrashLoopBackOff) rather than in a log nobody reads;
        // later failures are most likely passing (a mount being swapped) and are retried.
        if (!beat()) return kExitBadInput;  // logged by beat()
        const bool started = sync_once("start");
        beat();
        if (!started) return kExitBadInput;

        Clock::time_point next_sync = Clock::now() + interval_;
        // A change is pending when `changed` is set: sync at `settle`, capped from the first event.
        bool changed = false;
        Clock::time_point first_event{};
        Clock::time_point settle{};
        milliseconds retry = kFirstRetry;
        for (;;) {
            const Clock::time_point now = Clock::now();
            Clock::time_point wake = changed ? std::min(settle, next_sync) : next_sync;
            if (!health_file_.empty()) wake = std::min(wake, last_beat_ + kHealthBeat);
            const auto timeout = std::chrono::duration_cast<milliseconds>(wake - now).count();
            pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {watch_.fd(), POLLIN, 0}};
            const int ready = ::poll(fds, watch_.fd() >= 0 ? 2 : 1,
                                     static_cast<int>(std::clamp<std::int64_t>(
                                         timeout + 1, 0, kMaxIntervalSeconds * 1000LL)));
            if (ready < 0 && errno != EINTR) {
                logger_.error("poll failed", {{"error", std::system_category().message(errno)}});
                return kExitBadInput;
            }
            if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
                if (const int signal = signals.take(); signal != 0) {
                    logger_.info("stopping", {{"signal", signal}});
                    return kExitOk;
                }
            }
            if (ready > 0 && (fds[1].revents & POLLIN) != 0 && watch_.drain()) {
                const Clock::time_point event = Clock::now();
                if (!changed) first_event = event;
                changed = true;
                settle = std::min(event + kDebounce, first_event + kMaxDebounce);
            }
            const Clock::time_point after = Clock::now();
            const bool settled = changed && after >= settle;
            if (!settled && after < next_sync) {
                if (!health_file_.empty() && after >= last_beat_ + kHealthBeat) beat();
                continue;
            }
            const char* trigger = settled ? "change" : "interval";
            changed = false;
            if (sync_once(trigger)) {
                retry = kFirstRetry;
                next_sync = Clock::now() + interval_;
            } else {
                next_sync = Clock::now() + std::min<Clock::duration>(retry, interval_);
                retry = std::min<milliseconds>(retry * 2, interval_);
            }
            beat();
        }
    }

  private:
    // Rewrites --health-file, if any. A failure after the start is logged when it first happens
    // (and when the reason changes): the probe will restart the pod, and the log says why.
    bool beat() {
        if (health_file_.empty()) return true;
        last_beat_ = Clock::now();
        std::string error =
            io::write_health_file(health_file_, boot_time(), std::chrono::system_clock::now());
        const bool ok = error.empty();
        if (!ok && error != health_error_) {
            logger_.error("cannot write the health file", {{"error", error}});
        }
        health_error_ = std::move(error);
        return ok;
    }

    void warn_inotify() {
        logger_.warn("inotify unavailable; relying on the periodic re-sync",
                     {{"error", watch_.error()}});
    }

    bool sync_once(const char* trigger) {
        const bool inotify_was_ok = watch_.error().empty();
        watch_.refresh();
        if (inotify_was_ok && !watch_.error().empty()) warn_inotify();
        io::SyncReport report;
        try {
            report = io::sync_profiles(from_, to_, options_, &check_cache_);
        } catch (const std::exception& error) {
            logger_.error("sync failed", {{"trigger", trigger}, {"error", error.what()}});
            return false;
        }
        log_report(report, trigger);
        return true;
    }

    void log_report(const io::SyncReport& report, const char* trigger) {
        const io::SyncPlan& plan = report.plan;
        for (const std::string& warning : plan.warnings) {
            logger_.warn("state file ignored", {{"detail", warning}});
        }
        // Rejections are repeated only when they change: the summary line counts them each time.
        std::set<std::string> rejections;
        for (const io::SyncRejection& rejection : plan.rejected) {
            rejections.insert(rejection.file + '\n' + rejection.reason);
        }
        if (rejections != last_rejections_) {
            for (const io::SyncRejection& rejection : plan.rejected) {
                logger_.warn("profile rejected",
                             {{"file", joined(from_, rejection.file)},
                              {"reason", rejection.reason},
                              {"kept_installed_copy", rejection.kept_installed_copy}});
            }
            last_rejections_ = std::move(rejections);
        }
        for (const io::PlannedChange& change : plan.changes) {
            if (change.action == io::SyncAction::kRelease ||
                (change.action == io::SyncAction::kUpdate && change.foreign)) {
                logger_.warn(change.action == io::SyncAction::kRelease
                                 ? "installed file left in place"
                                 : "replaced a file sync-profiles had not installed",
                             {{"file", joined(to_, change.path)}, {"detail", change.note}});
            }
        }
        for (const io::SyncError& error : report.errors) {
            logger_.error("cannot sync file",
                          {{"file", joined(to_, error.path)}, {"error", error.message}});
        }
        logger_.info("profiles synced", {{"trigger", trigger},
                                         {"from", from_.string()},
                                         {"to", to_.string()},
                                         {"catalog_files", plan.catalog_files},
                                         {"installed", report.count(io::SyncAction::kInstall)},
                                         {"updated", report.count(io::SyncAction::kUpdate)},
                                         {"removed", report.count(io::SyncAction::kRemove)},
                                         {"unchanged", report.count(io::SyncAction::kUnchanged)},
                                         {"rejected", plan.rejected.size()},
                                         {"failed", report.errors.size()},
                                         {"checked", plan.checked},
                                         {"cached", plan.check_cached}});
    }

    fs::path from_;
    fs::path to_;
    io::SyncOptions options_;
    std::chrono::seconds interval_;
    fs::path health_file_;  // empty: none
    Clock::time_point last_beat_{};
    std::string health_error_;
    TreeWatch watch_;
    webhook::Logger logger_;
    std::set<std::string> last_rejections_;
    io::ProfileCheckCache check_cache_;  // what the last sync checked, by content
};

}  // namespace

int sync_profiles_command(const std::vector<std::string>& argv) {
    const Args args =
        parse_args(argv, {"from", "to", "interval", "health-file", "check-health", "max-age"},
                   {"watch", "dry-run", "allow-empty"});
    if (args.help) {
        std::cout << kHelp;
        return kExitOk;
    }
    if (!args.positionals.empty()) {
        throw UsageError("unexpected argument \"" + args.positionals[0] + "\"");
    }
    if (!args.command.empty()) throw UsageError("takes no command after --");
    if (args.value("check-health")) return check_health_command(args);
    if (args.value("max-age")) throw UsageError("--max-age needs --check-health");
    const fs::path from = args.required("from");
    const fs::path to = args.required("to");
    if (from.empty() || to.empty()) throw UsageError("--from and --to must not be empty");
    const bool watch = args.flag("watch");
    if (args.value("interval") && !watch) throw UsageError("--interval needs --watch");
    const fs::path health_file = args.value("health-file").value_or("");
    if (args.value("health-file") && !watch) throw UsageError("--health-file needs --watch");
    if (args.value("health-file") && health_file.empty()) {
        throw UsageError("--health-file needs a file name");
    }
    if (watch && args.flag("dry-run")) throw UsageError("--dry-run cannot be used with --watch");
    const int interval =
        args.value("interval") ? parse_interval(*args.value("interval")) : kDefaultIntervalSeconds;

    std::error_code error;
    const fs::path real_from = fs::weakly_canonical(fs::absolute(from, error), error);
    const fs::path real_to = fs::weakly_canonical(fs::absolute(to, error), error);
    if (real_to == real_to.root_path()) throw UsageError("--to must not be the root directory");
    if (is_within(real_to, real_from) || is_within(real_from, real_to)) {
        throw UsageError("--from " + from.string() + " and --to " + to.string() +
                         " must not be inside one another");
    }

    if (!health_file.empty()) {
        // Under --from, every write would be a catalog change, and each sync another write.
        const fs::path real_health = fs::weakly_canonical(fs::absolute(health_file, error), error);
        if (is_within(real_health, real_from) || is_within(real_health, real_to)) {
            throw UsageError("--health-file " + health_file.string() +
                             " must not be inside --from or --to");
        }
    }

    io::SyncOptions options;
    options.dry_run = args.flag("dry-run");
    options.allow_empty = args.flag("allow-empty");
    if (watch) return Watcher(from, to, options, interval, health_file).run();

    const io::SyncReport report = io::sync_profiles(from, to, options);
    print_report(report, from, to);
    return exit_code(report);
}

}  // namespace seccomp_gate::cli
