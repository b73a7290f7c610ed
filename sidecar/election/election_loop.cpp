#include "election/election_loop.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;

ElectionLoop::ElectionLoop(Elector& elector, const Clock& clock, nanoseconds release_delay,
                           nanoseconds shutdown_budget)
    : elector_(elector), clock_(clock), release_delay_(release_delay), shutdown_budget_(shutdown_budget) {}

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
  BootTime deadline;
  bool app_saw_leadership;
  {
    std::lock_guard lock(mutex_);
    deadline = stop_requested_at_ + shutdown_budget_;
    app_saw_leadership = app_saw_leadership_;
  }
  // Step one: stop reporting leadership (the signal handler already hid it from the endpoints), so
  // the app polling /leader and the readiness probe see it before anyone else can lead.
  elector_.begin_stopping(deadline);
  if (!elector_.holds()) return;
  // Step two: give the app the release delay to stop its leader work, renewing meanwhile so the
  // Lease does not expire and nobody takes over while the app may still be working. Leave room in
  // the shutdown budget for the release itself.
  const nanoseconds release_room = 3 * elector_.config().stopping_request_timeout;
  const BootTime until = std::min(clock_.boot_now() + release_delay_, deadline - release_room);
  if (app_saw_leadership && clock_.boot_now() < until) {
    spdlog::info("waiting {}ms (release delay) before releasing the lease",
                 duration_cast<milliseconds>(until - clock_.boot_now()).count());
    while (clock_.boot_now() < until && elector_.holds()) {
      // tick() only renews now; request_stop() was already called, so a plain sleep is all that
      // is left to wait for.
      const nanoseconds next = guarded_tick();
      const nanoseconds left = until - clock_.boot_now();
      std::this_thread::sleep_for(std::min(next, left));
    }
  }
  // Step three: release, so a follower takes over without waiting for expiry.
  try {
    elector_.release();
  } catch (const std::exception& error) {
    spdlog::error("release failed: {}; the lease will expire instead", error.what());
  }
}

void ElectionLoop::request_stop(bool app_saw_leadership) {
  {
    std::lock_guard lock(mutex_);
    if (!stop_requested_) {
      stop_requested_ = true;
      stop_requested_at_ = clock_.boot_now();
      app_saw_leadership_ = app_saw_leadership;
    }
  }
  elector_.request_stop();
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
