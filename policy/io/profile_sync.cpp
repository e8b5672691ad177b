#include "policy/io/profile_sync.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <system_error>
#include <utility>

#include "policy/io/files.h"
#include "policy/policy_config.h"

namespace seccomp_gate::io {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

constexpr int kStateVersion = 1;
// A ConfigMap swap during the read makes the read start over; a mount that keeps changing faster
// than it can be read is taken as it was read the last time.
constexpr int kCatalogReadAttempts = 5;

std::string errno_text(int error) { return std::system_category().message(error); }

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

// "a/b/c.json" -> {"a/b", "c.json"}; "c.json" -> {"", "c.json"}.
std::pair<std::string_view, std::string_view> split_parent(std::string_view path) {
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return {{}, path};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string describe_open_error(int error) {
    if (error == ELOOP || error == ENOTDIR) {
        return "a component of the path is a symlink or not a directory (never followed)";
    }
    return errno_text(error);
}

// Opens the directory `relative` ("" is the root) below `root` one component at a time with
// O_NOFOLLOW, so that a symlink in the destination never leads the sync out of it. With `create`,
// missing components are made with mode 0755 and their parent is fsynced, so that a profile
// written below them survives a crash. On failure returns no fd and sets `error` to the errno.
UniqueFd open_directory(int root, std::string_view relative, bool create, int& error) {
    UniqueFd current(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!current) {
        error = errno;
        return {};
    }
    while (!relative.empty()) {
        const auto slash = relative.find('/');
        const std::string segment(relative.substr(0, slash));
        relative =
            slash == std::string_view::npos ? std::string_view{} : relative.substr(slash + 1);
        constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd = ::openat(current.get(), segment.c_str(), kFlags);
        if (fd < 0 && errno == ENOENT && create) {
            if (::mkdirat(current.get(), segment.c_str(), kProfileDirectoryMode) != 0 &&
                errno != EEXIST) {
                error = errno;
                return {};
            }
            fd = ::openat(current.get(), segment.c_str(), kFlags);
            if (fd >= 0) {
                // The umask must not decide who can read the profiles.
                ::fchmod(fd, kProfileDirectoryMode);
                ::fsync(current.get());
            }
        }
        if (fd < 0) {
            error = errno;
            return {};
        }
        current = UniqueFd(fd);
    }
    return current;
}

// What is at a path instead of a regular file, as a noun phrase ("replaces a symlink").
std::string describe_kind(mode_t mode) {
    if (S_ISLNK(mode)) return "a symlink";
    if (S_ISDIR(mode)) return "a directory";
    return "a special file";
}

// What the destination holds at one path, read without following symlinks.
struct ExistingFile {
    enum class Kind { kMissing, kRegular, kOther };
    Kind kind = Kind::kMissing;
    std::string content;
    bool too_large = false;  // more than kMaxProfileBytes: content not read
    mode_t mode = 0;
    // kOther: what is there instead, as a noun phrase ("a symlink", "a file that cannot be read
    // (...)"); with parent_blocked, why its directory cannot be opened.
    std::string what;
    // A directory on the path is a symlink, not a directory, or cannot be opened: the sync can
    // neither see nor write the file (it never follows a symlink, and does not clear the way).
    bool parent_blocked = false;
};

ExistingFile read_existing(int root, std::string_view path) {
    ExistingFile existing;
    const auto [directory, leaf] = split_parent(path);
    int error = 0;
    const UniqueFd dir = open_directory(root, directory, /*create=*/false, error);
    if (!dir) {
        if (error != ENOENT) {
            existing.kind = ExistingFile::Kind::kOther;
            existing.parent_blocked = true;
            existing.what = describe_open_error(error);
        }
        return existing;
    }
    const std::string name(leaf);
    struct stat info {};
    if (::fstatat(dir.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) {
            existing.kind = ExistingFile::Kind::kOther;
            existing.what = "a file that cannot be examined (" + errno_text(errno) + ")";
        }
        return existing;
    }
    existing.kind = ExistingFile::Kind::kOther;
    existing.mode = info.st_mode;
    if (!S_ISREG(info.st_mode)) {
        existing.what = describe_kind(info.st_mode);
        return existing;
    }
    // O_NONBLOCK: should the file be swapped for a FIFO after the fstatat, opening it must not
    // hang.
    const UniqueFd file(
        ::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file || ::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        // ELOOP: swapped for a symlink since the fstatat.
        existing.what = file ? describe_kind(info.st_mode)
                        : errno == ELOOP
                            ? "a symlink"
                            : "a file that cannot be opened (" + errno_text(errno) + ")";
        return existing;
    }
    existing.kind = ExistingFile::Kind::kRegular;
    existing.mode = info.st_mode;
    if (static_cast<std::uintmax_t>(info.st_size) > kMaxProfileBytes) {
        existing.too_large = true;
        return existing;
    }
    char buffer[16384];
    for (;;) {
        const ssize_t got = ::read(file.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) continue;
            existing.kind = ExistingFile::Kind::kOther;
            existing.what = "a file that cannot be read (" + errno_text(errno) + ")";
            return existing;
        }
        if (got == 0) break;
        existing.content.append(buffer, static_cast<std::size_t>(got));
        if (existing.content.size() > kMaxProfileBytes) {
            existing.too_large = true;
            existing.content.clear();
            break;
        }
    }
    return existing;
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t written = ::write(fd, bytes.data(), bytes.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

std::string temporary_name() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx",
                  static_cast<unsigned long long>(random()));  // NOLINT(google-runtime-int)
    return std::string(kSyncTempPrefix) + suffix;
}

// Writes `content` as `dir`/`leaf` so that a reader sees the old file or the new one, never a
// part: a temporary file in the same directory (same file system, so rename is atomic), fsynced
// before the rename and the directory fsynced after it (else a crash can lose the rename or keep
// a name pointing at unwritten blocks). Returns 0 or the errno of the step that failed.
int write_atomically(int dir, std::string_view leaf, std::string_view content) {
    std::string temp;
    UniqueFd file;
    for (int attempt = 0; attempt < 16 && !file; ++attempt) {
        temp = temporary_name();
        file = UniqueFd(::openat(dir, temp.c_str(),
                                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!file && errno != EEXIST) return errno;
    }
    if (!file) return EEXIST;
    int error = 0;
    if (::fchmod(file.get(), kProfileFileMode) != 0 || !write_all(file.get(), content) ||
        ::fsync(file.get()) != 0) {
        error = errno;
    }
    // close() can report a delayed write error (NFS, quota): the rename must not follow it.
    if (error == 0 && ::close(file.release()) != 0) error = errno;
    const std::string target(leaf);
    if (error == 0 && ::renameat(dir, temp.c_str(), dir, target.c_str()) != 0) error = errno;
    if (error != 0) {
        ::unlinkat(dir, temp.c_str(), 0);
        return error;
    }
    return ::fsync(dir) == 0 ? 0 : errno;
}

// A crash between creating a temporary file and renaming it leaves the temporary behind; with the
// lock held no other sync is writing one, so any found now is such a leftover.
void remove_stale_temporaries(int dir) {
    const int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return;
    DIR* stream = ::fdopendir(copy);
    if (stream == nullptr) {
        ::close(copy);
        return;
    }
    ::rewinddir(stream);
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(stream)) {
        const std::string_view name(entry->d_name);
        if (name.starts_with(kSyncTempPrefix)) stale.emplace_back(name);
    }
    ::closedir(stream);
    for (const std::string& name : stale) {
        struct stat info {};
        if (::fstatat(dir, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(info.st_mode)) {
            ::unlinkat(dir, name.c_str(), 0);
        }
    }
}

// Names the sync keeps for itself: a catalog file with one of them would overwrite the state file
// or be taken for a leftover temporary file and deleted.
std::string reserved_name_problem(std::string_view path) {
    if (path == kSyncStateFile) {
        return "\"" + std::string(kSyncStateFile) + "\" is reserved for the state of sync-profiles";
    }
    if (split_parent(path).second.starts_with(kSyncTempPrefix)) {
        return "names starting with \"" + std::string(kSyncTempPrefix) +
               "\" are reserved for the temporary files of sync-profiles";
    }
    return {};
}

std::string data_link_target(const fs::path& directory) {
    std::error_code error;
    const fs::path target = fs::read_symlink(directory / "..data", error);
    return error ? std::string() : target.string();
}

struct LoadedState {
    SyncState state;
    std::optional<std::string> text;  // the file as read, when it is a regular file
    std::string warning;
};

LoadedState load_state(int root, const fs::path& destination) {
    LoadedState loaded;
    const std::string where = (destination / kSyncStateFile).string();
    const ExistingFile existing = read_existing(root, kSyncStateFile);
    if (existing.kind == ExistingFile::Kind::kMissing) return loaded;
    const std::string consequence = "; treated as empty (no file will be removed)";
    if (existing.kind == ExistingFile::Kind::kOther) {
        loaded.warning = where + ": " + existing.what + consequence;
        return loaded;
    }
    if (existing.too_large) {
        loaded.warning = where + ": too large" + consequence;
        return loaded;
    }
    loaded.text = existing.content;
    auto parsed = parse_sync_state(existing.content);
    if (!parsed) {
        loaded.warning = where + ": not a state file of this version" + consequence;
        return loaded;
    }
    loaded.state = std::move(*parsed);
    return loaded;
}

}  // namespace

std::string content_digest(std::string_view bytes) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(hash));  // NOLINT(google-runtime-int)
    return hex;
}

std::string serialize_sync_state(const SyncState& state) {
    json files = json::object();
    for (const auto& [path, file] : state) {
        files[path] = {{"size", file.size}, {"fnv1a64", file.digest}};
    }
    const json document{
        {"comment",
         "written by seccomp-gate sync-profiles: the files it installed in this directory, which "
         "it may replace or remove; it never removes a file that is not listed here"},
        {"version", kStateVersion},
        {"files", std::move(files)}};
    return document.dump(2) + "\n";
}

std::optional<SyncState> parse_sync_state(std::string_view text) {
    const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!document.is_object()) return std::nullopt;
    const auto version = document.find("version");
    if (version == document.end() || !version->is_number_integer() ||
        version->get<int>() != kStateVersion) {
        return std::nullopt;
    }
    const auto files = document.find("files");
    if (files == document.end() || !files->is_object()) return std::nullopt;
    SyncState state;
    for (const auto& [path, entry] : files->items()) {
        // A state file is written by us, but whoever can write the directory can edit it: an
        // entry must never name a path outside the destination or the state file itself.
        const auto cleaned = clean_profile_path(path);
        if (!cleaned || *cleaned != path || path == kSyncStateFile) continue;
        if (!entry.is_object()) continue;
        const auto size = entry.find("size");
        const auto digest = entry.find("fnv1a64");
        if (size == entry.end() || !size->is_number_unsigned() || digest == entry.end() ||
            !digest->is_string()) {
            continue;
        }
        state[path] = InstalledFile{size->get<std::uint64_t>(), digest->get<std::string>()};
    }
    return state;
}

std::string_view to_string(SyncAction action) {
    switch (action) {
        case SyncAction::kInstall:
            return "install";
        case SyncAction::kUpdate:
            return "update";
        case SyncAction::kUnchanged:
            return "unchanged";
        case SyncAction::kRemove:
            return "remove";
        case SyncAction::kKeepLastGood:
            return "keep-last-good";
        case SyncAction::kRelease:
            break;
    }
    return "release";
}

std::size_t SyncPlan::count(SyncAction action) const {
    return static_cast<std::size_t>(
        std::count_if(changes.begin(), changes.end(),
                      [action](const PlannedChange& change) { return change.action == action; }));
}

std::size_t SyncReport::count(SyncAction action) const {
    if (!applied || errors.empty()) return plan.count(action);
    std::set<std::string_view> failed;
    for (const SyncError& error : errors) failed.insert(error.path);
    return static_cast<std::size_t>(
        std::count_if(plan.changes.begin(), plan.changes.end(), [&](const PlannedChange& change) {
            return change.action == action && !failed.contains(change.path);
        }));
}

const ProfileCheck& ProfileCheckCache::check(const std::string& content) {
    auto found = entries_.find(content);
    if (found == entries_.end()) {
        found = entries_.emplace(content, Entry{check_profile(content), false}).first;
        ++checks_run_;
    }
    found->second.used = true;
    return found->second.result;
}

void ProfileCheckCache::forget_unused() {
    std::erase_if(entries_, [](const auto& entry) { return !entry.second.used; });
    for (auto& [content, entry] : entries_) entry.used = false;
}

SyncDestination::SyncDestination(const fs::path& directory) : path_(directory) {
    fd_ = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0 && errno == ENOENT) {
        // Only the last component is created: a missing parent means a wrong kubelet root, which
        // creating the whole path would hide.
        fs::path normal = directory.lexically_normal();
        if (!normal.has_filename()) normal = normal.parent_path();
        if (::mkdir(normal.c_str(), kProfileDirectoryMode) != 0 && errno != EEXIST) {
            const int error = errno;
            throw ConfigError(
                directory.string() + ": cannot create the destination directory: " +
                (error == ENOENT ? "its parent directory does not exist" : errno_text(error)));
        }
        fd_ = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd_ >= 0) {
            ::fchmod(fd_, kProfileDirectoryMode);
            const UniqueFd parent(
                ::open(normal.parent_path().empty() ? "." : normal.parent_path().c_str(),
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (parent) ::fsync(parent.get());
        }
    }
    if (fd_ < 0) {
        throw ConfigError(directory.string() +
                          ": cannot open the destination directory: " + errno_text(errno));
    }
    // As root only a read-only file system fails this; other users also get EACCES.
    if (::faccessat(fd_, ".", W_OK, 0) != 0) {
        const int error = errno;
        ::close(fd_);
        throw ConfigError(directory.string() +
                          ": destination directory is not writable: " + errno_text(error));
    }
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        ::close(fd_);
        throw ConfigError(directory.string() +
                          ": cannot lock the destination directory: " + errno_text(error));
    }
}

SyncDestination::~SyncDestination() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

std::vector<CatalogFile> read_catalog_snapshot(const fs::path& directory) {
    // read_catalog_files would call a regular file a missing directory.
    if (std::error_code error;
        fs::exists(directory, error) && !fs::is_directory(directory, error)) {
        throw ConfigError(directory.string() + ": is not a directory");
    }
    for (int attempt = 1;; ++attempt) {
        const std::string before = data_link_target(directory);
        try {
            std::vector<CatalogFile> files = read_catalog_files(directory);
            if (data_link_target(directory) == before || attempt == kCatalogReadAttempts) {
                return files;
            }
        } catch (const ConfigError&) {
            // A file that vanished mid-read because the kubelet swapped the mount: read again.
            if (data_link_target(directory) == before || attempt == kCatalogReadAttempts) throw;
        }
    }
}

SyncPlan plan_sync(const std::vector<CatalogFile>& files, const SyncDestination& destination,
                   ProfileCheckCache* cache) {
    SyncPlan plan;
    plan.catalog_files = files.size();
    const int root = destination.fd();

    // The catalog's own checks (build_catalog, with an empty prefix: a profile's name is its
    // path), with the cache in front of the linter.
    ProfileCheckCache one_sync;
    ProfileCheckCache& checks = cache != nullptr ? *cache : one_sync;
    const std::size_t checks_before = checks.checks_run();
    const CatalogSnapshot catalog =
        build_catalog("", files, [&](std::string_view content) -> ProfileCheck {
            ++plan.checked;
            return checks.check(std::string(content));
        });
    std::map<std::string, std::string, std::less<>> rejected;
    for (const auto& rejection : catalog.rejected()) rejected[rejection.file] = rejection.reason;
    std::map<std::string, std::string_view, std::less<>> valid;
    for (const auto& file : files) {
        const auto name = clean_profile_path(file.relative_path);
        if (!name || catalog.find(*name) == nullptr) continue;
        if (std::string problem = reserved_name_problem(*name); !problem.empty()) {
            rejected[file.relative_path] = std::move(problem);
            continue;
        }
        valid[*name] = file.content;
    }
    checks.forget_unused();
    plan.check_cached = plan.checked - (checks.checks_run() - checks_before);
    plan.checked -= plan.check_cached;

    LoadedState loaded = load_state(root, destination.path());
    if (!loaded.warning.empty()) plan.warnings.push_back(std::move(loaded.warning));
    plan.state = std::move(loaded.state);

    for (const auto& [path, content] : valid) {
        const ExistingFile existing = read_existing(root, path);
        PlannedChange change;
        change.path = path;
        change.content = std::string(content);
        change.foreign = !plan.state.contains(path);
        if (existing.kind == ExistingFile::Kind::kMissing) {
            change.action = SyncAction::kInstall;
            change.foreign = false;
        } else if (existing.kind == ExistingFile::Kind::kRegular && !existing.too_large &&
                   existing.content == content) {
            change.action = SyncAction::kUnchanged;
            change.fix_mode = (existing.mode & 07777U) != kProfileFileMode;
        } else {
            change.action = SyncAction::kUpdate;
            if (existing.parent_blocked) {
                // Nothing there to replace or adopt; apply_sync reports the write as failed.
                change.foreign = false;
                change.note = "cannot be written: " + existing.what;
            } else if (existing.kind == ExistingFile::Kind::kOther) {
                change.note = "replaces " + existing.what;
            } else if (change.foreign) {
                change.note = "replaces a file that sync-profiles had not installed";
            }
        }
        plan.changes.push_back(std::move(change));
    }

    for (const auto& [file, reason] : rejected) {
        SyncRejection rejection{file, reason, false};
        if (plan.state.contains(file) &&
            read_existing(root, file).kind == ExistingFile::Kind::kRegular) {
            rejection.kept_installed_copy = true;
            plan.changes.push_back({SyncAction::kKeepLastGood, file, {}, reason, false, false});
        }
        plan.rejected.push_back(std::move(rejection));
    }

    for (const auto& [path, installed] : plan.state) {
        if (valid.contains(path) || rejected.contains(path)) continue;
        const ExistingFile existing = read_existing(root, path);
        if (existing.kind == ExistingFile::Kind::kMissing) continue;  // already gone: forgotten
        PlannedChange change;
        change.path = path;
        if (existing.kind == ExistingFile::Kind::kRegular && !existing.too_large &&
            existing.content.size() == installed.size &&
            content_digest(existing.content) == installed.digest) {
            change.action = SyncAction::kRemove;
        } else {
            change.action = SyncAction::kRelease;
            if (existing.kind == ExistingFile::Kind::kRegular) {
                change.note = "changed since sync-profiles installed it; left in place";
            } else if (existing.parent_blocked) {
                change.note = "cannot be reached, left in place: " + existing.what;
            } else {
                change.note = "is now " + existing.what + "; left in place";
            }
        }
        plan.changes.push_back(std::move(change));
    }

    std::sort(plan.changes.begin(), plan.changes.end(),
              [](const PlannedChange& a, const PlannedChange& b) { return a.path < b.path; });
    return plan;
}

SyncReport apply_sync(SyncPlan plan, const SyncDestination& destination) {
    SyncReport report;
    report.plan = std::move(plan);
    report.applied = true;
    const SyncPlan& planned = report.plan;
    const int root = destination.fd();
    SyncState next;
    std::set<std::string, std::less<>> cleaned;  // directories already rid of leftovers

    const auto fail = [&](const std::string& path, const std::string& message) {
        report.errors.push_back({path, message});
        // What the sync installed there before is still there (every write is atomic).
        if (const auto old = planned.state.find(path); old != planned.state.end()) {
            next[path] = old->second;
        }
    };
    const auto open_clean = [&](std::string_view directory, bool create, int& error) {
        UniqueFd dir = open_directory(root, directory, create, error);
        if (dir && cleaned.emplace(directory).second) remove_stale_temporaries(dir.get());
        return dir;
    };
    int root_error = 0;
    open_clean("", false, root_error);

    // Removals first: a directory emptied here may be where a new file of the same name goes.
    for (const PlannedChange& change : planned.changes) {
        if (change.action != SyncAction::kRemove) continue;
        const auto [directory, leaf] = split_parent(change.path);
        int error = 0;
        const UniqueFd dir = open_clean(directory, false, error);
        const std::string name(leaf);
        if (!dir) {
            if (error != ENOENT) fail(change.path, "cannot remove: " + describe_open_error(error));
            continue;
        }
        if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
            fail(change.path, "cannot remove: " + errno_text(errno));
            continue;
        }
        ::fsync(dir.get());
        // Directories left empty go too; rmdir fails on any that still holds something.
        std::string_view emptied = directory;
        while (!emptied.empty()) {
            const auto [parent, child] = split_parent(emptied);
            int parent_error = 0;
            const UniqueFd parent_dir = open_directory(root, parent, false, parent_error);
            const std::string child_name(child);
            if (!parent_dir ||
                ::unlinkat(parent_dir.get(), child_name.c_str(), AT_REMOVEDIR) != 0) {
                break;
            }
            ::fsync(parent_dir.get());
            cleaned.erase(std::string(emptied));
            emptied = parent;
        }
    }

    for (const PlannedChange& change : planned.changes) {
        const InstalledFile written{change.content.size(), content_digest(change.content)};
        switch (change.action) {
            case SyncAction::kInstall:
            case SyncAction::kUpdate: {
                const auto [directory, leaf] = split_parent(change.path);
                int error = 0;
                const UniqueFd dir = open_clean(directory, true, error);
                if (!dir) {
                    fail(change.path, "cannot create its directory: " + describe_open_error(error));
                    break;
                }
                if (const int write_error = write_atomically(dir.get(), leaf, change.content)) {
                    fail(change.path, "cannot write: " + errno_text(write_error));
                    break;
                }
                next[change.path] = written;
                break;
            }
            case SyncAction::kUnchanged: {
                next[change.path] = written;
                if (!change.fix_mode) break;
                const auto [directory, leaf] = split_parent(change.path);
                int error = 0;
                const UniqueFd dir = open_directory(root, directory, false, error);
                const std::string name(leaf);
                const UniqueFd file(dir ? ::openat(dir.get(), name.c_str(),
                                                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                                        : -1);
                if (!dir || !file || ::fchmod(file.get(), kProfileFileMode) != 0) {
                    const int mode_error = dir ? errno : error;
                    report.errors.push_back(
                        {change.path, "cannot set mode 0644: " + describe_open_error(mode_error)});
                }
                break;
            }
            case SyncAction::kKeepLastGood:
                next[change.path] = planned.state.at(change.path);
                break;
            case SyncAction::kRemove:
            case SyncAction::kRelease:
                break;
        }
    }

    const std::string state_text = serialize_sync_state(next);
    const ExistingFile current = read_existing(root, kSyncStateFile);
    if (current.kind != ExistingFile::Kind::kRegular || current.content != state_text) {
        if (const int error = write_atomically(root, kSyncStateFile, state_text)) {
            report.errors.push_back(
                {std::string(kSyncStateFile), "cannot write the state file: " + errno_text(error)});
        }
    }
    return report;
}

SyncReport sync_profiles(const fs::path& from, const fs::path& to, const SyncOptions& options,
                         ProfileCheckCache* cache) {
    const std::vector<CatalogFile> files = read_catalog_snapshot(from);
    const SyncDestination destination(to);
    SyncPlan plan = plan_sync(files, destination, cache);
    if (files.empty() && !options.allow_empty && plan.count(SyncAction::kRemove) > 0) {
        throw ConfigError(from.string() + ": holds no profile files; refusing to remove the " +
                          std::to_string(plan.count(SyncAction::kRemove)) +
                          " profiles installed in " + to.string() +
                          " (an empty catalog is more often a broken mount; --allow-empty "
                          "removes them)");
    }
    if (options.dry_run) {
        SyncReport report;
        report.plan = std::move(plan);
        return report;
    }
    return apply_sync(std::move(plan), destination);
}

std::string write_health_file(const fs::path& path, std::chrono::milliseconds boot_time,
                              std::chrono::system_clock::time_point wall_time) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(wall_time);
    std::tm utc{};
    char when[32] = "";
    if (::gmtime_r(&seconds, &utc) != nullptr) {
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    }
    const json document{{"boottime_ms", boot_time.count()}, {"time", when}};
    const std::string text = document.dump() + "\n";
    // One fixed temporary name: a crash between create and rename leaves no litter to collect.
    const fs::path temp = path.parent_path() / ("." + path.filename().string() + ".tmp");
    const UniqueFd file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                               kProfileFileMode));
    int error = 0;
    if (!file || !write_all(file.get(), text)) error = errno;
    if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0) error = errno;
    if (error != 0) {
        if (file) ::unlink(temp.c_str());
        return path.string() + ": cannot write the health file: " + errno_text(error);
    }
    return {};
}

std::string check_health_file(const fs::path& path, std::chrono::milliseconds max_age,
                              std::chrono::milliseconds boot_time_now) {
    using std::chrono::milliseconds;
    const UniqueFd file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!file) {
        const int error = errno;
        return path.string() + ": " +
               (error == ENOENT ? "no health file (sync-profiles --watch --health-file "
                                  "has not written it)"
                                : "cannot open the health file: " + errno_text(error));
    }
    constexpr std::size_t kMaxHealthBytes = 4096;
    std::string text;
    char buffer[512];
    for (;;) {
        const ssize_t got = ::read(file.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return path.string() + ": cannot read the health file: " + errno_text(errno);
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > kMaxHealthBytes) break;
    }
    const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const auto written = document.is_object() ? document.find("boottime_ms") : document.end();
    if (!document.is_object() || written == document.end() || !written->is_number_integer()) {
        return path.string() + ": not a health file of sync-profiles (no boottime_ms)";
    }
    const milliseconds age = boot_time_now - milliseconds(written->get<std::int64_t>());
    if (age < milliseconds(0)) {
        return path.string() + ": written before this boot; the sync loop has not written it since";
    }
    if (age > max_age) {
        const auto seconds = [](milliseconds value) {
            return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(value).count());
        };
        return path.string() + ": last written " + seconds(age) + " s ago, more than " +
               seconds(max_age) + " s: the sync loop is stuck or gone";
    }
    return {};
}

}  // namespace seccomp_gate::io
