#include "election/election_loop.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;

ElectionLoop::ElectionLoop(Elector& elector, const Clock& clock, nanoseconds release_delay)
    : elector_(elector), clock_(clock), release_delay_(release_delay) {}

void ElectionLoop::run() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_requested_) break;
    }
    wait(guarded_tick());
  }
  hand_over();
}

// The API client turns every failure into a typed error, so nothing should throw here; if
// something does anyway (memory exhaustion, a bug), the loop must not die with the process still
// serving its endpoints: log it and come round again after a retry period.
nanoseconds ElectionLoop::guarded_tick() {
  try {
    return elector_.tick();
  } catch (const std::exception& error) {
    spdlog::error("election iteration failed: {}; retrying", error.what());
    return elector_.config().retry_period;
  }
}

void ElectionLoop::hand_over() {
  // Step one: stop reporting leadership, so the app (polling /leader) and the readiness probe see
  // it before anyone else can lead.
  elector_.begin_stopping();
  if (!elector_.holds()) return;
  // Step two: give the app the release delay to stop its leader work, renewing meanwhile so the
  // Lease does not expire and nobody takes over while the app may still be working.
  if (release_delay_ > nanoseconds::zero()) {
    spdlog::info("waiting {}ms (release delay) before releasing the lease",
                 duration_cast<milliseconds>(release_delay_).count());
    const BootTime until = clock_.boot_now() + release_delay_;
    while (clock_.boot_now() < until && elector_.holds()) {
      // tick() renews (it never acquires once stopping); request_stop() was already called, so a
      // plain sleep is all that is left to wait for.
      const nanoseconds next = guarded_tick();
      const nanoseconds left = until - clock_.boot_now();
      std::this_thread::sleep_for(std::min(next, left));
    }
  }
  // Step three: release, so a follower takes over without waiting for expiry.
  elector_.release();
}

void ElectionLoop::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wakeup_.notify_all();
}

void ElectionLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void ElectionLoop::wait(nanoseconds delay) {
  std::unique_lock lock(mutex_);
  wakeup_.wait_for(lock, delay, [this] { return stop_requested_ || woken_; });
  woken_ = false;
}

}  // namespace le::election
