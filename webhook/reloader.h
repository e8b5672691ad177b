#pragma once
// Hot reload of the TLS material, the policy file and the catalog directory.
//
// Kubernetes mounts Secrets and ConfigMaps as a `..data` symlink to a timestamped directory and
// swaps the symlink on update, so inotify on the files themselves misses changes. The reloader
// polls instead: every interval it stats each watched path (following symlinks) and the catalog
// tree, and reloads what changed. A reload that fails keeps the last good state, is logged and
// counted; the next change of the files tries again.

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "webhook/config.h"
#include "webhook/logging.h"
#include "webhook/metrics.h"
#include "webhook/server_state.h"
#include "webhook/tls_context.h"

namespace seccomp_gate::webhook {

// A string that changes whenever the file a path resolves to changes (device, inode, size,
// modification time), or when it appears or disappears.
std::string file_fingerprint(const std::filesystem::path& path);
// The same for every entry of a directory tree, following symlinks (bounded).
std::string tree_fingerprint(const std::filesystem::path& directory);

class Reloader {
  public:
    // Receives each new TLS context, to be used for the connections accepted from then on.
    using InstallTls = std::function<void(SslCtxPtr)>;

    Reloader(const ServeConfig& config, ServerState& state, Metrics& metrics, const Logger& logger,
             InstallTls install_tls);
    ~Reloader();
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    // Start-up: loads everything once. Throws ConfigError, the process does not start.
    void load();
    // Polls in a thread of its own until stop().
    void start();
    void stop();

    // One round of checks; what the thread does every interval.
    void check_once();

    // Also run on the reloader's thread every interval (the server's memory trimming).
    void set_housekeeping(std::function<void()> task) { housekeeping_ = std::move(task); }

  private:
    TlsFiles tls_files() const;
    std::string tls_fingerprint() const;
    // Loads the policy and the catalog; on reload, profiles whose file broke keep their last
    // good version (logged and counted in reload_errors_total{what="catalog"}).
    SnapshotPtr load_snapshot(std::vector<std::string>& kept_files);
    void publish(SnapshotPtr snapshot, const std::vector<std::string>& kept_files = {});
    void run();

    const ServeConfig& config_;
    ServerState& state_;
    Metrics& metrics_;
    const Logger& logger_;
    InstallTls install_tls_;
    std::function<void()> housekeeping_;

    std::string tls_fingerprint_;
    std::string policy_fingerprint_;
    std::string catalog_fingerprint_;
    std::filesystem::path catalog_directory_;

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace seccomp_gate::webhook
