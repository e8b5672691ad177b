// sync-profiles on real temporary directories: what is installed, updated, removed, kept and
// never touched, and how a ConfigMap mount's symlink swap is followed.

#include "policy/io/profile_sync.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "policy/io/files.h"
#include "policy/policy_config.h"
#include "test_support.h"

namespace seccomp_gate::io {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "profile-sync-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code error;
        fs::remove_all(path_, error);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& relative) const { return path_ / relative; }

  private:
    fs::path path_;
};

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.good());
}

std::string example(const std::string& name) {
    return read_file(testing::source_path("examples/catalog/profiles/" + name));
}

const std::string kBroken = R"({"defaultAction":"SCMP_ACT_PERMIT"})";

struct FileId {
    ino_t inode = 0;
    timespec mtime{};
    unsigned mode = 0;

    bool same_write(const FileId& other) const {
        return inode == other.inode && mtime.tv_sec == other.mtime.tv_sec &&
               mtime.tv_nsec == other.mtime.tv_nsec;
    }
};

FileId identify(const fs::path& path) {
    struct stat info {};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    return {info.st_ino, info.st_mtim, static_cast<unsigned>(info.st_mode & 07777U)};
}

SyncState state_of(const fs::path& destination) {
    const auto state = parse_sync_state(read_file(destination / std::string(kSyncStateFile)));
    REQUIRE(state.has_value());
    return *state;
}

std::vector<std::string> rejected_files(const SyncReport& report) {
    std::vector<std::string> files;
    for (const auto& rejection : report.plan.rejected) files.push_back(rejection.file);
    return files;
}

// A ConfigMap volume as the kubelet lays it out: the payload in a timestamped directory, `..data`
// pointing at it, and one symlink per top-level name through `..data`. update() swaps it the way
// the kubelet's atomic writer does.
class ConfigMapMount {
  public:
    explicit ConfigMapMount(fs::path root) : root_(std::move(root)) {
        fs::create_directories(root_);
    }

    void update(const std::map<std::string, std::string>& payload) {
        ++generation_;
        const std::string version = "..2026_11_28_10_00_0" + std::to_string(generation_) +
                                    ".12345" + std::to_string(generation_);
        for (const auto& [name, content] : payload) write_file(root_ / version / name, content);
        const fs::path old_target = fs::exists(root_ / "..data", error_)
                                        ? root_ / fs::read_symlink(root_ / "..data")
                                        : fs::path();
        fs::create_directory_symlink(version, root_ / "..data_tmp");
        fs::rename(root_ / "..data_tmp", root_ / "..data");  // the atomic swap
        // One symlink per top-level name: a nested item (team/api.json) is reached through a
        // symlinked directory (team -> ..data/team).
        std::set<std::string> tops;
        for (const auto& [name, content] : payload) tops.insert(name.substr(0, name.find('/')));
        for (const std::string& top : tops) {
            if (!fs::is_symlink(root_ / top))
                fs::create_symlink(fs::path("..data") / top, root_ / top);
        }
        for (const auto& entry : fs::directory_iterator(root_)) {
            const std::string name = entry.path().filename().string();
            if (!name.starts_with("..") && !tops.contains(name)) fs::remove(entry.path());
        }
        if (!old_target.empty()) fs::remove_all(old_target);
    }

  private:
    fs::path root_;
    int generation_ = 0;
    std::error_code error_;
};

TEST_CASE("sync-profiles installs a catalog, nested directories included") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "seccomp-gate";  // created by the sync: its parent exists
    write_file(from / "web.json", example("web.json"));
    write_file(from / "default.json", example("default.json"));
    write_file(from / "team/api/audit.json", example("audit.json"));

    const SyncReport report = sync_profiles(from, to);
    CHECK(report.applied);
    CHECK(report.in_sync());
    CHECK(report.count(SyncAction::kInstall) == 3);
    CHECK(report.plan.rejected.empty());
    CHECK(read_file(to / "web.json") == example("web.json"));
    CHECK(read_file(to / "default.json") == example("default.json"));
    CHECK(read_file(to / "team/api/audit.json") == example("audit.json"));
    CHECK(identify(to / "web.json").mode == 0644);
    CHECK(identify(to / "team").mode == 0755);
    CHECK(identify(to / "team/api").mode == 0755);

    const SyncState state = state_of(to);
    CHECK(state.size() == 3);
    REQUIRE(state.contains("team/api/audit.json"));
    CHECK(state.at("team/api/audit.json").digest == content_digest(example("audit.json")));
    // Nothing else was left behind (no temporary files).
    std::size_t entries = 0;
    for (const auto& entry : fs::recursive_directory_iterator(to)) {
        CHECK_FALSE(entry.path().filename().string().starts_with(std::string(kSyncTempPrefix)));
        ++entries;
    }
    CHECK(entries == 6);  // 3 profiles, 2 directories, the state file
}

TEST_CASE("sync-profiles leaves unchanged files alone and rewrites changed ones") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    write_file(from / "default.json", example("default.json"));
    sync_profiles(from, to);
    const FileId web = identify(to / "web.json");
    const FileId other = identify(to / "default.json");
    const FileId state = identify(to / std::string(kSyncStateFile));

    SUBCASE("nothing changed: no file is written, not even the state file") {
        const SyncReport again = sync_profiles(from, to);
        CHECK(again.in_sync());
        CHECK(again.count(SyncAction::kUnchanged) == 2);
        CHECK(again.count(SyncAction::kInstall) + again.count(SyncAction::kUpdate) == 0);
        CHECK(identify(to / "web.json").same_write(web));
        CHECK(identify(to / "default.json").same_write(other));
        CHECK(identify(to / std::string(kSyncStateFile)).same_write(state));
    }
    SUBCASE("one file changed: only it is replaced, by a new inode (rename)") {
        write_file(from / "web.json", example("audit.json"));
        const SyncReport again = sync_profiles(from, to);
        CHECK(again.in_sync());
        CHECK(again.count(SyncAction::kUpdate) == 1);
        CHECK(again.count(SyncAction::kUnchanged) == 1);
        CHECK(read_file(to / "web.json") == example("audit.json"));
        CHECK(identify(to / "web.json").inode != web.inode);
        CHECK(identify(to / "default.json").same_write(other));
        CHECK(state_of(to).at("web.json").digest == content_digest(example("audit.json")));
    }
    SUBCASE("same bytes with another mode: the mode is fixed without a rewrite") {
        REQUIRE(::chmod((to / "web.json").c_str(), 0600) == 0);
        const SyncReport again = sync_profiles(from, to);
        CHECK(again.in_sync());
        CHECK(again.count(SyncAction::kUnchanged) == 2);
        CHECK(identify(to / "web.json").mode == 0644);
        CHECK(identify(to / "web.json").same_write(web));
    }
}

TEST_CASE("sync-profiles removes what left the catalog, and the directories it emptied") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    write_file(from / "team/api/default.json", example("default.json"));
    sync_profiles(from, to);
    REQUIRE(fs::exists(to / "team/api/default.json"));

    fs::remove_all(from / "team");
    const SyncReport report = sync_profiles(from, to);
    CHECK(report.in_sync());
    CHECK(report.count(SyncAction::kRemove) == 1);
    CHECK_FALSE(fs::exists(to / "team/api/default.json"));
    CHECK_FALSE(fs::exists(to / "team"));
    CHECK(fs::exists(to / "web.json"));
    CHECK_FALSE(state_of(to).contains("team/api/default.json"));

    SUBCASE("a directory that still holds someone else's file stays") {
        write_file(from / "team/api/default.json", example("default.json"));
        sync_profiles(from, to);
        write_file(to / "team/notes.txt", "not ours");
        fs::remove_all(from / "team");
        CHECK(sync_profiles(from, to).count(SyncAction::kRemove) == 1);
        CHECK_FALSE(fs::exists(to / "team/api"));
        CHECK(read_file(to / "team/notes.txt") == "not ours");
    }
}

TEST_CASE("a file that becomes a directory, and back, in one sync each") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "team", example("web.json"));
    sync_profiles(from, to);
    fs::remove(from / "team");
    write_file(from / "team/api.json", example("default.json"));
    CHECK(sync_profiles(from, to).in_sync());
    CHECK(read_file(to / "team/api.json") == example("default.json"));
    fs::remove_all(from / "team");
    write_file(from / "team", example("audit.json"));
    CHECK(sync_profiles(from, to).in_sync());
    CHECK(read_file(to / "team") == example("audit.json"));
}

TEST_CASE("an invalid profile is reported and never installed; the last good copy stays") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    sync_profiles(from, to);

    write_file(from / "web.json", kBroken);       // a bad edit of an installed profile
    write_file(from / "new.json", "{ not json");  // a bad new profile
    write_file(from / "team/huge.json", std::string(kMaxProfileBytes + 1, ' '));  // unreadable
    const SyncReport report = sync_profiles(from, to);
    CHECK_FALSE(report.in_sync());
    CHECK(report.errors.empty());
    CHECK(rejected_files(report) ==
          std::vector<std::string>{"new.json", "team/huge.json", "web.json"});
    for (const auto& rejection : report.plan.rejected) {
        CAPTURE(rejection.file);
        CHECK_FALSE(rejection.reason.empty());
        CHECK(rejection.kept_installed_copy == (rejection.file == "web.json"));
    }
    CHECK(report.plan.rejected[0].reason.find("JSON") != std::string::npos);  // the catalog's own
    CHECK(report.plan.rejected[1].reason.find("larger than") != std::string::npos);
    CHECK(report.count(SyncAction::kKeepLastGood) == 1);
    CHECK(read_file(to / "web.json") == example("web.json"));
    CHECK_FALSE(fs::exists(to / "new.json"));
    CHECK_FALSE(fs::exists(to / "team"));
    CHECK(state_of(to).contains("web.json"));  // still owned: removable once it leaves

    SUBCASE("fixed: installed again") {
        write_file(from / "web.json", example("default.json"));
        const SyncReport fixed = sync_profiles(from, to);
        CHECK(fixed.count(SyncAction::kUpdate) == 1);
        CHECK(read_file(to / "web.json") == example("default.json"));
    }
    SUBCASE("removed from the catalog while broken: the kept copy is removed") {
        fs::remove(from / "web.json");
        const SyncReport removed = sync_profiles(from, to);
        CHECK(removed.count(SyncAction::kRemove) == 1);
        CHECK_FALSE(fs::exists(to / "web.json"));
    }
}

TEST_CASE("files the sync did not install are never removed") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "seccomp";  // as if --to were the kubelet's seccomp root
    write_file(to / "other-vendor/strict.json", example("web.json"));
    write_file(to / "notes.txt", "hand-made");
    write_file(to / "same.json", example("default.json"));   // already there, same bytes
    write_file(to / "differs.json", example("audit.json"));  // already there, other bytes
    write_file(from / "same.json", example("default.json"));
    write_file(from / "differs.json", example("web.json"));
    write_file(from / "ours.json", example("web.json"));

    const SyncReport first = sync_profiles(from, to);
    CHECK(first.in_sync());
    CHECK(first.count(SyncAction::kInstall) == 1);
    CHECK(first.count(SyncAction::kUnchanged) == 1);
    CHECK(first.count(SyncAction::kUpdate) == 1);
    for (const auto& change : first.plan.changes) {
        CAPTURE(change.path);
        CHECK(change.foreign == (change.path != "ours.json"));
        if (change.action == SyncAction::kUpdate) CHECK_FALSE(change.note.empty());
    }
    // The catalog decides what "<prefix>/differs.json" is: replaced, and now owned.
    CHECK(read_file(to / "differs.json") == example("web.json"));
    CHECK(state_of(to).size() == 3);

    // An empty catalog directory: refused, since it would remove everything installed.
    fs::remove_all(from);
    fs::create_directories(from);
    CHECK_THROWS_AS(sync_profiles(from, to), ConfigError);
    CHECK(fs::exists(to / "ours.json"));

    SyncOptions allow_empty;
    allow_empty.allow_empty = true;
    const SyncReport emptied = sync_profiles(from, to, allow_empty);
    CHECK(emptied.count(SyncAction::kRemove) == 3);
    CHECK_FALSE(fs::exists(to / "ours.json"));
    CHECK_FALSE(fs::exists(to / "same.json"));
    CHECK(read_file(to / "other-vendor/strict.json") == example("web.json"));
    CHECK(read_file(to / "notes.txt") == "hand-made");
    CHECK(state_of(to).empty());
}

TEST_CASE("an installed file edited by someone else is left in place when it leaves") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    write_file(from / "default.json", example("default.json"));
    sync_profiles(from, to);
    write_file(to / "web.json", example("audit.json"));  // someone's edit on the node
    fs::remove(from / "web.json");

    const SyncReport report = sync_profiles(from, to);
    CHECK(report.in_sync());
    CHECK(report.count(SyncAction::kRelease) == 1);
    CHECK(report.count(SyncAction::kRemove) == 0);
    CHECK(read_file(to / "web.json") == example("audit.json"));
    CHECK_FALSE(state_of(to).contains("web.json"));  // no longer ours: never removed later
}

TEST_CASE("symlinks in the destination are never followed") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    const fs::path outside = temp / "outside";
    write_file(outside / "precious.json", "precious");
    write_file(from / "web.json", example("web.json"));
    write_file(from / "profiles/default.json", example("default.json"));
    sync_profiles(from, to);

    SUBCASE("a directory of the destination swapped for a symlink: no write through it") {
        fs::remove_all(to / "profiles");
        fs::create_directory_symlink(outside, to / "profiles");
        const SyncReport report = sync_profiles(from, to);
        REQUIRE(report.errors.size() == 1);
        CHECK(report.errors[0].path == "profiles/default.json");
        CHECK(report.errors[0].message.find("symlink") != std::string::npos);
        CHECK_FALSE(fs::exists(outside / "default.json"));
        CHECK(read_file(outside / "precious.json") == "precious");
        CHECK(state_of(to).contains("profiles/default.json"));  // still ours, still to fix
        // One file, counted once: as failed, not also as updated.
        CHECK(report.count(SyncAction::kUpdate) == 0);
        CHECK(report.count(SyncAction::kInstall) == 0);
        CHECK(report.count(SyncAction::kUnchanged) == 1);    // web.json
        CHECK(report.plan.count(SyncAction::kUpdate) == 1);  // what was attempted
    }
    SUBCASE("the same for a file the sync never installed: a plain note, no adoption") {
        fs::remove_all(to / "profiles");
        fs::create_directory_symlink(outside, to / "profiles");
        fs::remove(to / std::string(kSyncStateFile));
        const SyncReport report = sync_profiles(from, to);
        REQUIRE(report.errors.size() == 1);
        CHECK(report.count(SyncAction::kUpdate) == 0);
        const auto change =
            std::find_if(report.plan.changes.begin(), report.plan.changes.end(),
                         [](const PlannedChange& c) { return c.path == "profiles/default.json"; });
        REQUIRE(change != report.plan.changes.end());
        CHECK_FALSE(change->foreign);
        CHECK(change->note ==
              "cannot be written: a component of the path is a symlink or not a directory "
              "(never followed)");
    }
    SUBCASE("a symlink where a catalog file goes is replaced, and the note says so") {
        fs::remove(to / "web.json");
        fs::create_symlink(outside / "precious.json", to / "web.json");
        fs::remove(to / std::string(kSyncStateFile));
        const SyncReport report = sync_profiles(from, to);
        CHECK(report.in_sync());
        CHECK(report.count(SyncAction::kUpdate) == 1);
        const auto change =
            std::find_if(report.plan.changes.begin(), report.plan.changes.end(),
                         [](const PlannedChange& c) { return c.path == "web.json"; });
        REQUIRE(change != report.plan.changes.end());
        CHECK(change->foreign);
        CHECK(change->note == "replaces a symlink");
        CHECK_FALSE(fs::is_symlink(to / "web.json"));
        CHECK(read_file(to / "web.json") == example("web.json"));
        CHECK(read_file(outside / "precious.json") == "precious");
    }
    SUBCASE("an installed file whose directory became a symlink is released, saying why") {
        fs::remove_all(to / "profiles");
        fs::create_directory_symlink(outside, to / "profiles");
        fs::remove_all(from / "profiles");
        const SyncReport report = sync_profiles(from, to);
        REQUIRE(report.count(SyncAction::kRelease) == 1);
        CHECK(report.plan.changes[0].path == "profiles/default.json");
        CHECK(report.plan.changes[0].note ==
              "cannot be reached, left in place: a component of the path is a symlink or not a "
              "directory (never followed)");
    }
    SUBCASE("an installed file swapped for a symlink: left, and its target untouched") {
        fs::remove(to / "web.json");
        fs::create_symlink(outside / "precious.json", to / "web.json");
        fs::remove(from / "web.json");
        const SyncReport report = sync_profiles(from, to);
        CHECK(report.count(SyncAction::kRelease) == 1);
        CHECK(fs::is_symlink(to / "web.json"));
        CHECK(read_file(outside / "precious.json") == "precious");
    }
    SUBCASE("a state file naming paths outside the destination is not believed") {
        write_file(to / std::string(kSyncStateFile),
                   R"({"version":1,"files":{"../outside/precious.json":{"size":8,)"
                   R"("fnv1a64":")" +
                       content_digest("precious") + R"("}}})");
        fs::remove_all(from / "profiles");
        fs::remove(from / "web.json");
        write_file(from / "other.json", example("web.json"));
        const SyncReport report = sync_profiles(from, to);
        CHECK(report.count(SyncAction::kRemove) == 0);
        CHECK(read_file(outside / "precious.json") == "precious");
    }
}

TEST_CASE("a state file that cannot be read removes nothing, and is rewritten") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    write_file(from / "default.json", example("default.json"));
    sync_profiles(from, to);
    write_file(to / std::string(kSyncStateFile), "{ truncated");
    fs::remove(from / "default.json");

    const SyncReport report = sync_profiles(from, to);
    REQUIRE(report.plan.warnings.size() == 1);
    CHECK(report.plan.warnings[0].find(std::string(kSyncStateFile)) != std::string::npos);
    CHECK(report.count(SyncAction::kRemove) == 0);
    CHECK(fs::exists(to / "default.json"));
    const SyncState state = state_of(to);
    CHECK(state.size() == 1);
    CHECK(state.contains("web.json"));  // adopted again: same bytes as the catalog
}

TEST_CASE("the sync's own names are not accepted from the catalog") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / std::string(kSyncStateFile), example("web.json"));
    write_file(from / (std::string(kSyncTempPrefix) + "x"), example("web.json"));
    write_file(from / "web.json", example("web.json"));
    const SyncReport report = sync_profiles(from, to);
    CHECK(report.count(SyncAction::kInstall) == 1);
    REQUIRE(report.plan.rejected.size() == 2);
    CHECK(report.plan.rejected[0].reason.find("reserved") != std::string::npos);
    CHECK(state_of(to).size() == 1);
}

TEST_CASE("temporary files left by a crash are cleaned up") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "team/web.json", example("web.json"));
    const std::string stale = std::string(kSyncTempPrefix) + "0123456789abcdef";
    write_file(to / stale, "half a prof");
    write_file(to / "team" / stale, "half a prof");
    CHECK(sync_profiles(from, to).in_sync());
    CHECK_FALSE(fs::exists(to / stale));
    CHECK_FALSE(fs::exists(to / "team" / stale));
}

TEST_CASE("a ConfigMap mount is followed through its ..data swap") {
    TempDir temp;
    const fs::path from = temp / "mount";
    const fs::path to = temp / "dest";
    ConfigMapMount mount(from);
    mount.update({{"web.json", example("web.json")}, {"default.json", example("default.json")}});

    const SyncReport first = sync_profiles(from, to);
    CHECK(first.in_sync());
    CHECK(first.count(SyncAction::kInstall) == 2);
    CHECK(read_file(to / "web.json") == example("web.json"));
    CHECK_FALSE(fs::exists(to / "..data"));

    mount.update({{"web.json", example("default.json")},
                  {"audit.json", example("audit.json")},
                  {"team/api/web.json", example("web.json")},
                  {"broken.json", kBroken}});
    const SyncReport second = sync_profiles(from, to);
    CHECK(second.count(SyncAction::kUpdate) == 1);
    CHECK(second.count(SyncAction::kInstall) == 2);
    CHECK(read_file(to / "team/api/web.json") == example("web.json"));
    CHECK_FALSE(fs::is_symlink(to / "team"));  // a real directory on the node
    CHECK(second.count(SyncAction::kRemove) == 1);
    CHECK(rejected_files(second) == std::vector<std::string>{"broken.json"});
    CHECK(read_file(to / "web.json") == example("default.json"));
    CHECK(read_file(to / "audit.json") == example("audit.json"));
    CHECK_FALSE(fs::exists(to / "default.json"));
    CHECK_FALSE(fs::exists(to / "broken.json"));
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(to)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names ==
          std::vector<std::string>{std::string(kSyncStateFile), "audit.json", "team", "web.json"});

    mount.update({{"web.json", example("default.json")}});
    const SyncReport third = sync_profiles(from, to);
    CHECK(third.count(SyncAction::kRemove) == 2);
    CHECK_FALSE(fs::exists(to / "team"));
}

TEST_CASE("symlinked directories of the catalog: followed inside it, never out of it") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    write_file(from / "real/web.json", example("web.json"));
    write_file(temp / "elsewhere/stolen.json", example("web.json"));
    fs::create_directory_symlink("real", from / "alias");            // inside: followed
    fs::create_directory_symlink(temp / "elsewhere", from / "out");  // outside: not followed
    fs::create_directory_symlink("..", from / "real/up");            // a loop: not followed
    fs::create_directory_symlink(".", from / "self");                // a loop: not followed
    std::vector<std::string> names;
    for (const auto& file : read_catalog_snapshot(from)) names.push_back(file.relative_path);
    CHECK(names == std::vector<std::string>{"alias/web.json", "real/web.json"});
}

TEST_CASE("a dry run plans without writing") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    SyncOptions dry;
    dry.dry_run = true;
    const SyncReport report = sync_profiles(from, to, dry);
    CHECK_FALSE(report.applied);
    CHECK(report.count(SyncAction::kInstall) == 1);
    CHECK_FALSE(fs::exists(to / "web.json"));
    CHECK_FALSE(fs::exists(to / std::string(kSyncStateFile)));
}

TEST_CASE("unusable sources and destinations are errors naming the path") {
    TempDir temp;
    write_file(temp / "catalog/web.json", example("web.json"));
    write_file(temp / "a-file", "x");
    const auto message = [](const fs::path& from, const fs::path& to) {
        try {
            sync_profiles(from, to);
        } catch (const ConfigError& error) {
            return std::string(error.what());
        }
        return std::string("no error");
    };
    const std::string missing_from = message(temp / "nope", temp / "dest");
    CHECK(missing_from.find((temp / "nope").string()) == 0);
    const std::string missing_parent = message(temp / "catalog", temp / "no/such/dest");
    CHECK(missing_parent.find("parent directory does not exist") != std::string::npos);
    const std::string not_a_directory = message(temp / "catalog", temp / "a-file");
    CHECK(not_a_directory.find((temp / "a-file").string()) == 0);
    CHECK(not_a_directory.find("Not a directory") != std::string::npos);
    // --from a regular file: not "does not exist".
    CHECK(message(temp / "a-file", temp / "dest") ==
          (temp / "a-file").string() + ": is not a directory");
    CHECK(message(temp / "nope", temp / "dest").find("does not exist") != std::string::npos);
}

TEST_CASE("a check cache lints each content once across syncs") {
    TempDir temp;
    const fs::path from = temp / "catalog";
    const fs::path to = temp / "dest";
    write_file(from / "web.json", example("web.json"));
    write_file(from / "default.json", example("default.json"));
    write_file(from / "bad.json", kBroken);
    ProfileCheckCache cache;

    const SyncReport first = sync_profiles(from, to, {}, &cache);
    CHECK(first.plan.checked == 3);
    CHECK(first.plan.check_cached == 0);
    CHECK(cache.checks_run() == 3);

    // Nothing changed: nothing linted, and the same decisions (the rejection included).
    const SyncReport second = sync_profiles(from, to, {}, &cache);
    CHECK(second.plan.checked == 0);
    CHECK(second.plan.check_cached == 3);
    CHECK(cache.checks_run() == 3);
    CHECK(second.count(SyncAction::kUnchanged) == 2);
    REQUIRE(second.plan.rejected.size() == 1);
    CHECK(second.plan.rejected[0].reason == first.plan.rejected[0].reason);

    // A changed file is checked again; a file with bytes seen before is not.
    write_file(from / "web.json", example("audit.json"));
    write_file(from / "copy.json", example("default.json"));
    const SyncReport third = sync_profiles(from, to, {}, &cache);
    CHECK(third.plan.checked == 1);
    CHECK(third.plan.check_cached == 3);
    CHECK(third.count(SyncAction::kUpdate) == 1);
    CHECK(third.count(SyncAction::kInstall) == 1);
    CHECK(read_file(to / "web.json") == example("audit.json"));
    // The old web.json's result was not used by this sync: dropped (the cache holds the catalog).
    CHECK(cache.size() == 3);

    // A fixed file is accepted on the next sync: results are by content, not by name.
    write_file(from / "bad.json", example("web.json"));
    const SyncReport fourth = sync_profiles(from, to, {}, &cache);
    CHECK(fourth.plan.rejected.empty());
    CHECK(fourth.plan.checked == 1);
    CHECK(read_file(to / "bad.json") == example("web.json"));

    // Without a cache every sync checks each content again (once: copy.json is default.json).
    const SyncReport uncached = sync_profiles(from, to);
    CHECK(uncached.plan.checked == 3);
    CHECK(uncached.plan.check_cached == 1);
    CHECK(sync_profiles(from, to).plan.checked == 3);
}

TEST_CASE("health file: written atomically, fresh, stale, from another boot, or not one") {
    using std::chrono::milliseconds;
    TempDir temp;
    const fs::path health = temp / "health";
    const auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(1000)) ==
          health.string() +
              ": no health file (sync-profiles --watch --health-file has not "
              "written it)");

    REQUIRE(write_health_file(health, milliseconds(50'000), wall).empty());
    CHECK(read_file(health) == "{\"boottime_ms\":50000,\"time\":\"2027-01-15T08:00:00Z\"}\n");
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(50'000)).empty());
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(350'000)).empty());
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(350'001)) ==
          health.string() +
              ": last written 300 s ago, more than 300 s: the sync loop is stuck or gone");
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(49'999)) ==
          health.string() + ": written before this boot; the sync loop has not written it since");

    // Rewritten in place, no temporary file left.
    REQUIRE(write_health_file(health, milliseconds(400'000), wall).empty());
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(450'000)).empty());
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(temp.path())) {
        names.push_back(entry.path().filename().string());
    }
    CHECK(names == std::vector<std::string>{"health"});

    write_file(health, "not json");
    CHECK(check_health_file(health, milliseconds(300'000), milliseconds(1000)) ==
          health.string() + ": not a health file of sync-profiles (no boottime_ms)");
    CHECK(write_health_file(temp / "missing/health", milliseconds(1), wall) ==
          (temp / "missing/health").string() +
              ": cannot write the health file: No such file or directory");
}

TEST_CASE("state file format") {
    CHECK(content_digest("") == "cbf29ce484222325");
    CHECK(content_digest("a") == "af63dc4c8601ec8c");
    const SyncState state{{"a/b.json", {12, "0123456789abcdef"}}, {"c.json", {0, "x"}}};
    const std::string text = serialize_sync_state(state);
    const auto parsed = parse_sync_state(text);
    REQUIRE(parsed.has_value());
    CHECK(parsed->size() == 2);
    CHECK(parsed->at("a/b.json").size == 12);
    CHECK(parsed->at("a/b.json").digest == "0123456789abcdef");

    CHECK_FALSE(parse_sync_state("").has_value());
    CHECK_FALSE(parse_sync_state("[]").has_value());
    CHECK_FALSE(parse_sync_state(R"({"version":2,"files":{}})").has_value());
    CHECK_FALSE(parse_sync_state(R"({"version":1})").has_value());
    const auto filtered = parse_sync_state(
        R"({"version":1,"files":{"../x.json":{"size":1,"fnv1a64":"a"},)"
        R"("/etc/passwd":{"size":1,"fnv1a64":"a"},"./y.json":{"size":1,"fnv1a64":"a"},)"
        R"(".seccomp-gate-sync.json":{"size":1,"fnv1a64":"a"},"z.json":{"size":-1},)"
        R"("ok.json":{"size":1,"fnv1a64":"a"}}})");
    REQUIRE(filtered.has_value());
    CHECK(filtered->size() == 1);
    CHECK(filtered->contains("ok.json"));
}

}  // namespace
}  // namespace seccomp_gate::io
