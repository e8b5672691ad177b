#pragma once
// The global budget for request bodies in flight (issue 9): the bytes of every request body being
// read or held until it is answered, summed over all connections. A body over --body-limit is
// refused by itself (413); this bounds what many bodies under the limit add up to.
//
// A request takes its share before its body is read: its Content-Length, or for a chunked body
// what has been read so far (taken as it grows). When the budget is full, the request waits for
// room, up to a bound that the session keeps with its own timer, then is refused with 503. The
// share is given back once the answer is computed, when the body is freed.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "webhook/logging.h"
#include "webhook/metrics.h"

namespace seccomp_gate::webhook {

class BodyBudget {
  public:
    // Called once, from the thread that releases bytes, when room may have appeared; a waiter
    // that still finds no room waits again.
    using Waiter = std::function<void()>;

    BodyBudget(std::size_t capacity, Metrics& metrics, const Logger& logger)
        : capacity_(capacity), metrics_(metrics), logger_(logger) {}

    std::size_t capacity() const { return capacity_; }
    std::size_t in_flight() const;

    // Takes `bytes` (all or nothing) and returns true, or registers `waiter` under `ticket`
    // and returns false. Requests already waiting go first, unless this one is small (at most
    // 1/kSmallShare of the capacity). `first` counts a new wait (the first
    // of an episode of exhaustion logs one warning); a woken waiter that tries again passes
    // false. A request larger than the capacity never fits: callers refuse it before.
    bool acquire_or_wait(std::size_t bytes, bool first, Waiter waiter, std::uint64_t& ticket);
    // Takes `bytes` if they fit now, without waiting (a chunked body that grows).
    bool try_acquire(std::size_t bytes);
    void release(std::size_t bytes);

    // The waiter gave up (its bound passed) and is refused: forgets it, counts the refusal.
    void give_up(std::uint64_t ticket);
    // At exit: forgets every waiter without calling it.
    void drop_waiters();

  private:
    static constexpr std::size_t kSmallShare = 64;

    void end_episode_if_over();  // with mutex_ held

    const std::size_t capacity_;
    Metrics& metrics_;
    const Logger& logger_;

    mutable std::mutex mutex_;
    std::size_t in_flight_ = 0;
    std::uint64_t next_ticket_ = 1;
    std::vector<std::pair<std::uint64_t, Waiter>> waiters_;
    // An episode: from the first request that has to wait until the budget is at most half
    // used with nobody waiting. One warning when it starts, one line when it ends.
    bool exhausted_ = false;
    std::uint64_t episode_waits_ = 0;
    std::uint64_t episode_refusals_ = 0;
};

}  // namespace seccomp_gate::webhook
