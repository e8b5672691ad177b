#pragma once
// Installing the catalog on a node (`seccomp-gate sync-profiles`): the file-system side.
//
// The destination is the prefix directory under the kubelet's seccomp root. What the sync owns
// there is listed in a state file it keeps beside the profiles (kSyncStateFile): only the files
// listed there, still holding the bytes the sync wrote, are ever removed, so files that someone
// else put in the directory survive even when --to is the kubelet's seccomp root itself.
//
// Every write is atomic (temporary file in the same directory, fsync, rename, fsync of the
// directory), so the kubelet and the runtime never read half a profile. Every path inside the
// destination is walked with openat(O_NOFOLLOW): a symlink planted in the destination is never
// followed out of it, for writing or for deleting.
//
// The work is split in two so that it can be inspected and tested: plan_sync() reads the catalog
// and the destination and decides; apply_sync() carries the decisions out.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/catalog.h"

namespace seccomp_gate::io {

// The state file in the destination directory, and the prefix of the temporary files; catalog
// files with these names are rejected (they would overwrite the sync's own bookkeeping).
inline constexpr std::string_view kSyncStateFile = ".seccomp-gate-sync.json";
inline constexpr std::string_view kSyncTempPrefix = ".seccomp-gate-tmp-";

inline constexpr unsigned kProfileFileMode = 0644;
inline constexpr unsigned kProfileDirectoryMode = 0755;

// A file a sync installed: enough to tell later whether it still holds what was written.
struct InstalledFile {
    std::uint64_t size = 0;
    std::string digest;  // content_digest() of the bytes written
};
// Keyed by the path relative to the destination ("profiles/web.json").
using SyncState = std::map<std::string, InstalledFile, std::less<>>;

// FNV-1a 64 as 16 hex digits. It detects edits by someone else, not forgeries: whoever can write
// the destination directory can also rewrite the state file.
std::string content_digest(std::string_view bytes);
std::string serialize_sync_state(const SyncState& state);
// nullopt when the text is not a state file this version understands; entries whose path could
// leave the destination ("..", absolute) are dropped.
std::optional<SyncState> parse_sync_state(std::string_view text);

enum class SyncAction {
    kInstall,       // not in the destination: written
    kUpdate,        // in the destination with other bytes (or not a regular file): rewritten
    kUnchanged,     // the same bytes are there: not rewritten (its mode is set to 0644 if needed)
    kRemove,        // installed by an earlier sync and no longer in the catalog: deleted
    kKeepLastGood,  // rejected now: the copy an earlier sync installed stays, for running pods
    kRelease,       // no longer in the catalog, but changed by someone else since it was
                    // installed: left in place and no longer owned
};
std::string_view to_string(SyncAction action);

struct PlannedChange {
    SyncAction action = SyncAction::kInstall;
    std::string path;      // relative to the destination
    std::string content;   // the bytes to write (kInstall, kUpdate)
    std::string note;      // why, for kRelease and for a kUpdate of a file the sync had not written
    bool foreign = false;  // the destination file was not installed by a sync (now it is owned)
    bool fix_mode = false;  // kUnchanged: same bytes, but not mode 0644
};

struct SyncRejection {
    std::string file;  // relative to the catalog directory
    std::string reason;
    bool kept_installed_copy = false;
};

struct SyncPlan {
    std::vector<PlannedChange> changes;  // sorted by path
    std::vector<SyncRejection> rejected;
    std::vector<std::string> warnings;  // e.g. an unreadable state file
    SyncState state;                    // the state file as read
    std::size_t catalog_files = 0;      // files read from the catalog, valid or not
    // Catalog files put through check_profile (the linter) by this sync, and those whose result
    // was known already (ProfileCheckCache: an earlier sync, or a file with the same bytes).
    std::size_t checked = 0;
    std::size_t check_cached = 0;

    std::size_t count(SyncAction action) const;
};

struct SyncError {
    std::string path;  // relative to the destination
    std::string message;
};

struct SyncReport {
    SyncPlan plan;
    std::vector<SyncError> errors;  // changes that could not be made (the rest were)
    bool applied = false;           // false for a dry run

    // The changes of this kind that were made: a change that failed is counted in `errors` only,
    // so that the counts and the failures add up to the files. A dry run counts the plan.
    std::size_t count(SyncAction action) const;
    bool in_sync() const { return errors.empty() && plan.rejected.empty(); }
};

// check_profile results by file content, kept across the syncs of a --watch loop: linting a large
// profile costs far more than reading it, and a periodic re-sync mostly finds the same bytes. The
// key is the content itself (compared in full, so two files can never share a result by a hash
// collision); entries that the latest sync did not use are dropped, so the cache never holds more
// than the catalog.
class ProfileCheckCache {
  public:
    // check_profile(content), run only when these bytes have no result yet.
    const ProfileCheck& check(const std::string& content);
    // Ends one sync: forgets the results that no check() since the last call asked for.
    void forget_unused();
    std::size_t checks_run() const { return checks_run_; }  // check_profile calls, ever
    std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        ProfileCheck result;
        bool used = false;
    };
    std::unordered_map<std::string, Entry> entries_;
    std::size_t checks_run_ = 0;
};

// The destination directory, opened and locked (flock) for one sync: two syncs on the same node
// (a DaemonSet rolling update with surge) take turns instead of racing on the state file.
class SyncDestination {
  public:
    // Opens `directory`, creating it (mode 0755) when its parent exists; throws ConfigError when
    // it cannot be opened, is not a directory, or is not writable.
    explicit SyncDestination(const std::filesystem::path& directory);
    ~SyncDestination();
    SyncDestination(const SyncDestination&) = delete;
    SyncDestination& operator=(const SyncDestination&) = delete;

    const std::filesystem::path& path() const { return path_; }
    int fd() const { return fd_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// The catalog files of `directory` (read_catalog_files), read again when a ConfigMap's `..data`
// symlink was swapped during the read, so that one sync never mixes two versions of the catalog.
std::vector<CatalogFile> read_catalog_snapshot(const std::filesystem::path& directory);

// Decides what to do, reading but never writing the destination. With a cache, files whose bytes
// it has a result for are not checked again.
SyncPlan plan_sync(const std::vector<CatalogFile>& files, const SyncDestination& destination,
                   ProfileCheckCache* cache = nullptr);

// Carries the plan out: removals first (and the directories they leave empty), then writes,
// then the state file. A change that fails is reported and the others still happen.
SyncReport apply_sync(SyncPlan plan, const SyncDestination& destination);

struct SyncOptions {
    bool dry_run = false;      // plan only
    bool allow_empty = false;  // let a catalog with no files at all remove every installed file
};

// read_catalog_snapshot + plan_sync + apply_sync. Throws ConfigError when the catalog cannot be
// read, the destination cannot be used, or an empty catalog would remove installed profiles
// without allow_empty (an empty directory is far more often a broken mount than an intent).
SyncReport sync_profiles(const std::filesystem::path& from, const std::filesystem::path& to,
                         const SyncOptions& options = {}, ProfileCheckCache* cache = nullptr);

// The liveness file of `sync-profiles --watch --health-file PATH`: the loop rewrites it after
// every sync attempt and at least every 30 s while idle, and `sync-profiles --check-health PATH`
// (the DaemonSet's exec probe: the image has no shell) says whether it is fresh. It holds the
// time of CLOCK_BOOTTIME, which wall-clock steps (NTP, a VM resumed) do not move and which the
// probe, in the same container, reads alike; the wall-clock time is there for people.
//
// Writes `path` atomically (a temporary file beside it, renamed over it): the probe never reads
// half of it. Returns "" or why it failed.
std::string write_health_file(const std::filesystem::path& path,
                              std::chrono::milliseconds boot_time,
                              std::chrono::system_clock::time_point wall_time);
// "" when `path` was written at most `max_age` before `boot_time_now`, else why not (missing,
// unreadable, not a health file, too old, from a previous boot).
std::string check_health_file(const std::filesystem::path& path, std::chrono::milliseconds max_age,
                              std::chrono::milliseconds boot_time_now);

}  // namespace seccomp_gate::io
