#pragma once
// The file-system side of the policy core: reading the policy file, the catalog directory and
// manifest trees. Everything here throws ConfigError with the path on failure.

#include <filesystem>
#include <string>
#include <vector>

#include "policy/catalog.h"
#include "policy/snapshot.h"

namespace seccomp_gate::io {

inline constexpr std::uintmax_t kMaxProfileBytes = 1U << 20U;

std::string read_file(const std::filesystem::path& path);

// Every regular file under `directory` (following symlinked files, as a ConfigMap mount has
// them), skipping the "..data"-style entries of ConfigMap and Secret mounts.
std::vector<CatalogFile> read_catalog_files(const std::filesystem::path& directory);

// Reads the policy file and the catalog it names (relative to the policy file's directory).
SnapshotPtr load_snapshot(const std::filesystem::path& policy_file);

// The catalog directory a policy names, resolved against the policy file.
std::filesystem::path catalog_directory(const std::filesystem::path& policy_file,
                                        const PolicyConfig& policy);

// The manifest files `audit` reads for one argument: the file itself, or every .yaml, .yml and
// .json file under a directory (recursively, sorted).
std::vector<std::filesystem::path> manifest_files(const std::filesystem::path& path);

}  // namespace seccomp_gate::io
