#include "webhook/body_budget.h"

#include <algorithm>
#include <utility>

namespace seccomp_gate::webhook {

std::size_t BodyBudget::in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
}

bool BodyBudget::try_acquire(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    if (bytes > capacity_ - in_flight_) return false;
    in_flight_ += bytes;
    metrics_.set_body_bytes_in_flight(in_flight_);
    return true;
}

bool BodyBudget::acquire_or_wait(std::size_t bytes, bool first, Waiter waiter,
                                 std::uint64_t& ticket) {
    std::vector<std::pair<std::uint64_t, Waiter>> woken;
    {
        std::lock_guard lock(mutex_);
        const bool fits = bytes <= capacity_ - in_flight_;
        // Requests already waiting go first, except small ones (an API server's reviews are a
        // few KiB): they pass while large bodies wait for room, and are gone in a moment.
        if (fits && (waiters_.empty() || bytes <= capacity_ / kSmallShare)) {
            in_flight_ += bytes;
            metrics_.set_body_bytes_in_flight(in_flight_);
            return true;
        }
        ticket = next_ticket_++;
        waiters_.emplace_back(ticket, std::move(waiter));
        if (first) {
            metrics_.count(TransportEvent::kBodyBudgetWait);
            ++episode_waits_;
        }
        if (!exhausted_) {
            exhausted_ = true;
            logger_.warn("request body budget exhausted: requests wait for room, then get 503",
                         {{"budget_bytes", capacity_}, {"in_flight_bytes", in_flight_}});
        }
        // There is room but others were waiting (woken, not yet back): wake everyone, so that
        // nobody waits for a release that may not come.
        if (fits) woken.swap(waiters_);
    }
    for (auto& [t, w] : woken) w();
    return false;
}

void BodyBudget::release(std::size_t bytes) {
    if (bytes == 0) return;
    std::vector<std::pair<std::uint64_t, Waiter>> woken;
    {
        std::lock_guard lock(mutex_);
        in_flight_ -= std::min(bytes, in_flight_);
        metrics_.set_body_bytes_in_flight(in_flight_);
        woken.swap(waiters_);
        end_episode_if_over();
    }
    // Outside the lock: a waiter posts to its connection's strand and may wait again.
    for (auto& [ticket, waiter] : woken) waiter();
}

void BodyBudget::give_up(std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    std::erase_if(waiters_, [ticket](const auto& entry) { return entry.first == ticket; });
    metrics_.count(TransportEvent::kBodyBudgetRefusal);
    ++episode_refusals_;
    end_episode_if_over();
}

void BodyBudget::drop_waiters() {
    std::vector<std::pair<std::uint64_t, Waiter>> dropped;
    {
        std::lock_guard lock(mutex_);
        dropped.swap(waiters_);
    }
    // Destroyed outside the lock: a waiter may hold the last reference to its connection,
    // which gives its own share back.
}

void BodyBudget::end_episode_if_over() {
    if (!exhausted_ || !waiters_.empty() || in_flight_ > capacity_ / 2) return;
    exhausted_ = false;
    logger_.info("request body budget available again",
                 {{"waited", static_cast<std::size_t>(episode_waits_)},
                  {"refused", static_cast<std::size_t>(episode_refusals_)}});
    episode_waits_ = 0;
    episode_refusals_ = 0;
}

}  // namespace seccomp_gate::webhook
