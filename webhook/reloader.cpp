#include "webhook/reloader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <system_error>
#include <vector>

#include "policy/io/files.h"

namespace seccomp_gate::webhook {
namespace fs = std::filesystem;
namespace {

// A catalog is a few hundred files; a symlink loop must not make the walk endless.
constexpr std::size_t kMaxTreeEntries = 20000;
constexpr int kMaxTreeDepth = 16;

}  // namespace

std::string file_fingerprint(const fs::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return "missing:" + std::to_string(errno);
    return std::to_string(info.st_dev) + ':' + std::to_string(info.st_ino) + ':' +
           std::to_string(info.st_size) + ':' + std::to_string(info.st_mtim.tv_sec) + '.' +
           std::to_string(info.st_mtim.tv_nsec);
}

std::string tree_fingerprint(const fs::path& directory) {
    std::vector<std::string> entries;
    entries.push_back(file_fingerprint(directory));
    std::error_code ec;
    fs::recursive_directory_iterator it(directory,
                                        fs::directory_options::follow_directory_symlink |
                                            fs::directory_options::skip_permission_denied,
                                        ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (entries.size() > kMaxTreeEntries) break;
        if (it.depth() >= kMaxTreeDepth) it.disable_recursion_pending();
        entries.push_back(it->path().lexically_relative(directory).string() + '=' +
                          file_fingerprint(it->path()));
    }
    if (ec) entries.push_back("error:" + ec.message());
    std::sort(entries.begin(), entries.end());
    std::string joined;
    for (const std::string& entry : entries) joined.append(entry).append("\n");
    return joined;
}

Reloader::Reloader(const ServeConfig& config, ServerState& state, Metrics& metrics,
                   const Logger& logger, InstallTls install_tls)
    : config_(config),
      state_(state),
      metrics_(metrics),
      logger_(logger),
      install_tls_(std::move(install_tls)) {}

Reloader::~Reloader() { stop(); }

TlsFiles Reloader::tls_files() const {
    return TlsFiles{config_.tls_cert, config_.tls_key, config_.client_ca};
}

std::string Reloader::tls_fingerprint() const {
    std::string fingerprint =
        file_fingerprint(config_.tls_cert) + '|' + file_fingerprint(config_.tls_key);
    if (!config_.client_ca.empty()) fingerprint += '|' + file_fingerprint(config_.client_ca);
    return fingerprint;
}

SnapshotPtr Reloader::load_snapshot(std::vector<std::string>& kept_files) {
    SnapshotPtr fresh = io::load_snapshot(config_.policy_file);
    const SnapshotPtr previous = state_.snapshot();
    if (!previous) return fresh;
    CatalogSnapshot catalog = fresh->catalog;
    const std::string_view prefix = fresh->policy.catalog_prefix;
    const std::vector<std::string> kept = keep_last_good(catalog, previous->catalog, prefix);
    if (kept.empty()) return fresh;
    for (const CatalogRejection& rejection : catalog.rejected()) {
        const auto name = clean_profile_path(
            prefix.empty() ? rejection.file : std::string(prefix) + "/" + rejection.file);
        if (name && std::find(kept.begin(), kept.end(), *name) != kept.end()) {
            kept_files.push_back(rejection.file);
        }
    }
    metrics_.reload_failed(ReloadTarget::kCatalog);
    return make_snapshot(fresh->policy, std::move(catalog), config_.policy_file.string());
}

void Reloader::publish(SnapshotPtr snapshot, const std::vector<std::string>& kept_files) {
    const CatalogSnapshot& catalog = snapshot->catalog;
    for (const CatalogRejection& rejection : catalog.rejected()) {
        if (std::find(kept_files.begin(), kept_files.end(), rejection.file) != kept_files.end()) {
            logger_.error("catalog profile became invalid, its last good version stays in force",
                          {{"file", rejection.file}, {"reason", rejection.reason}});
        } else {
            logger_.warn("catalog profile rejected",
                         {{"file", rejection.file}, {"reason", rejection.reason}});
        }
    }
    metrics_.set_catalog(catalog.profiles().size(), catalog.rejected().size());
    catalog_directory_ = io::catalog_directory(config_.policy_file, snapshot->policy);
    logger_.info("policy loaded", {{"policy", config_.policy_file.string()},
                                   {"catalog", catalog_directory_.string()},
                                   {"profiles", catalog.profiles().size()},
                                   {"rejected_profiles", catalog.rejected().size()},
                                   {"mode", to_string(snapshot->policy.mode)}});
    state_.set_snapshot(std::move(snapshot));
}

void Reloader::load() {
    // Fingerprints first: a change while loading is then seen by the next check.
    tls_fingerprint_ = tls_fingerprint();
    policy_fingerprint_ = file_fingerprint(config_.policy_file);
    SnapshotPtr snapshot = io::load_snapshot(config_.policy_file);
    install_tls_(make_server_tls_context(tls_files()));
    state_.set_tls_loaded();
    publish(std::move(snapshot));
    catalog_fingerprint_ = tree_fingerprint(catalog_directory_);
}

void Reloader::check_once() {
    if (std::string fingerprint = tls_fingerprint(); fingerprint != tls_fingerprint_) {
        tls_fingerprint_ = std::move(fingerprint);
        try {
            install_tls_(make_server_tls_context(tls_files()));
            metrics_.reloaded(ReloadTarget::kTls);
            logger_.info("TLS certificate reloaded", {{"cert", config_.tls_cert.string()}});
        } catch (const std::exception& error) {
            metrics_.reload_failed(ReloadTarget::kTls);
            logger_.error("TLS reload failed, the previous certificate stays in force",
                          {{"error", error.what()}});
        }
    }

    std::string policy_fingerprint = file_fingerprint(config_.policy_file);
    std::string catalog_fingerprint = tree_fingerprint(catalog_directory_);
    const bool policy_changed = policy_fingerprint != policy_fingerprint_;
    if (!policy_changed && catalog_fingerprint == catalog_fingerprint_) return;
    policy_fingerprint_ = std::move(policy_fingerprint);
    catalog_fingerprint_ = std::move(catalog_fingerprint);
    const ReloadTarget what = policy_changed ? ReloadTarget::kPolicy : ReloadTarget::kCatalog;
    try {
        const fs::path previous_directory = catalog_directory_;
        std::vector<std::string> kept_files;
        SnapshotPtr snapshot = load_snapshot(kept_files);
        publish(std::move(snapshot), kept_files);
        if (catalog_directory_ != previous_directory) {
            catalog_fingerprint_ = tree_fingerprint(catalog_directory_);
        }
        metrics_.reloaded(what);
    } catch (const std::exception& error) {
        metrics_.reload_failed(what);
        logger_.error("reload failed, the last good policy and catalog stay in force",
                      {{"what", to_string(what)}, {"error", error.what()}});
    }
}

void Reloader::start() {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void Reloader::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Reloader::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, config_.reload_interval, [this] { return stopping_; })) {
        lock.unlock();
        try {
            check_once();
            if (housekeeping_) housekeeping_();
        } catch (const std::exception& error) {
            logger_.error("reload check failed", {{"error", error.what()}});
        } catch (...) {
            logger_.error("reload check failed", {{"error", "unknown"}});
        }
        lock.lock();
    }
}

}  // namespace seccomp_gate::webhook
