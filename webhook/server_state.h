#pragma once
// What the request path reads: the policy/catalog snapshot in force (immutable, swapped whole
// on reload) and the readiness flags.

#include <atomic>
#include <memory>

#include "policy/snapshot.h"

namespace seccomp_gate::webhook {

class ServerState {
  public:
    SnapshotPtr snapshot() const { return snapshot_.load(std::memory_order_acquire); }
    void set_snapshot(SnapshotPtr snapshot) {
        snapshot_.store(std::move(snapshot), std::memory_order_release);
    }

    void set_tls_loaded() { tls_loaded_.store(true, std::memory_order_release); }
    // From SIGTERM on, /readyz fails so that the endpoints stop sending us new connections.
    void start_draining() { draining_.store(true, std::memory_order_release); }
    bool draining() const { return draining_.load(std::memory_order_acquire); }

    bool ready() const {
        return !draining() && tls_loaded_.load(std::memory_order_acquire) && snapshot() != nullptr;
    }

  private:
    std::atomic<SnapshotPtr> snapshot_;
    std::atomic<bool> tls_loaded_{false};
    std::atomic<bool> draining_{false};
};

}  // namespace seccomp_gate::webhook
