#include "policy/io/files.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace seccomp_gate::io {
namespace fs = std::filesystem;

namespace {

bool is_mount_internal(const fs::path& path) { return path.filename().string().starts_with(".."); }

// A ConfigMap item with a nested path (items[].path: team/api.json) is mounted as a symlinked
// directory (team -> ..data/team), so directory symlinks are followed, but only into the catalog
// directory itself (a symlink to / must not make the whole file system the catalog), never into
// one of their own ancestors, and never deeper than a catalog goes (a symlink loop ends).
constexpr int kMaxCatalogDepth = 16;

bool is_strictly_inside(const fs::path& inner, const fs::path& outer) {
    const auto [outer_end, inner_it] =
        std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
    return outer_end == outer.end() && inner_it != inner.end();
}

bool follow_directory_link(const fs::path& root, const fs::path& link) {
    std::error_code error;
    const fs::path target = fs::canonical(link, error);
    if (error || root.empty() || !is_strictly_inside(target, root)) return false;
    const fs::path parent = fs::canonical(link.parent_path(), error);
    return !error && parent != target && !is_strictly_inside(parent, target);
}

}  // namespace

std::string read_file(const fs::path& path) {
    std::error_code error;
    if (fs::is_directory(path, error)) throw ConfigError(path.string() + ": is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(path.string() +
                          ": cannot open: " + std::system_category().message(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) throw ConfigError(path.string() + ": read error");
    return std::move(content).str();
}

std::vector<CatalogFile> read_catalog_files(const fs::path& directory) {
    std::error_code error;
    if (!fs::is_directory(directory, error)) {
        throw ConfigError(directory.string() + ": catalog directory does not exist");
    }
    std::vector<CatalogFile> files;
    const fs::path root = fs::canonical(directory, error);
    fs::recursive_directory_iterator it(directory, fs::directory_options::follow_directory_symlink,
                                        error);
    if (error) throw ConfigError(directory.string() + ": " + error.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (error) throw ConfigError(directory.string() + ": " + error.message());
        const fs::path& path = it->path();
        if (is_mount_internal(path)) {
            if (it->is_directory(error)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_directory(error)) {
            if (it.depth() >= kMaxCatalogDepth ||
                (it->is_symlink(error) && !follow_directory_link(root, path))) {
                it.disable_recursion_pending();
            }
            continue;
        }
        if (!it->is_regular_file(error)) continue;  // follows a symlinked file
        CatalogFile file;
        file.relative_path = path.lexically_relative(directory).generic_string();
        if (fs::file_size(path, error) > kMaxProfileBytes) {
            file.read_error = "larger than " + std::to_string(kMaxProfileBytes) + " bytes";
        } else {
            file.content = read_file(path);
        }
        files.push_back(std::move(file));
    }
    std::sort(files.begin(), files.end(), [](const CatalogFile& a, const CatalogFile& b) {
        return a.relative_path < b.relative_path;
    });
    return files;
}

fs::path catalog_directory(const fs::path& policy_file, const PolicyConfig& policy) {
    const fs::path directory(policy.catalog_directory);
    if (directory.is_absolute()) return directory;
    return policy_file.parent_path() / directory;
}

SnapshotPtr load_snapshot(const fs::path& policy_file) {
    const std::string source = policy_file.string();
    PolicyConfig policy = parse_policy(read_file(policy_file), source);
    std::vector<CatalogFile> files;
    if (!policy.catalog_directory.empty()) {
        files = read_catalog_files(catalog_directory(policy_file, policy));
    }
    CatalogSnapshot catalog = build_catalog(policy.catalog_prefix, files);
    return make_snapshot(std::move(policy), std::move(catalog), source);
}

std::vector<fs::path> manifest_files(const fs::path& path) {
    std::error_code error;
    if (!fs::is_directory(path, error)) return {path};
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(path, fs::directory_options::none, error);
    if (error) throw ConfigError(path.string() + ": " + error.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (error) throw ConfigError(path.string() + ": " + error.message());
        if (is_mount_internal(it->path())) {
            if (it->is_directory(error)) it.disable_recursion_pending();
            continue;
        }
        const std::string extension = it->path().extension().string();
        if (it->is_regular_file(error) &&
            (extension == ".yaml" || extension == ".yml" || extension == ".json")) {
            files.push_back(it->path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace seccomp_gate::io
