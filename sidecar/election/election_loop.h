#pragma once
// Runs an Elector on its own thread: tick, wait, tick; and on stop, the graceful hand-over
// (stop reporting leadership, keep renewing for the release delay, release, return).
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "election/elector.h"

namespace le::election {

class ElectionLoop {
 public:
  // Kubernetes' default terminationGracePeriodSeconds is 30: everything after a stop request,
  // requests under way included, fits in this, whatever the API server does.
  static constexpr std::chrono::seconds kDefaultShutdownBudget{25};

  ElectionLoop(Elector& elector, const Clock& clock, std::chrono::nanoseconds release_delay,
               std::chrono::nanoseconds shutdown_budget = kDefaultShutdownBudget);

  // Blocks until request_stop() and the hand-over are done.
  void run();
  // Thread-safe; wakes the loop at once.
  void request_stop();
  // Thread-safe; makes the loop run its next iteration now (a later issue's watch uses it).
  void wake();

 private:
  // Waits for the delay, returning early on wake() or request_stop().
  void wait(std::chrono::nanoseconds delay);
  void hand_over();
  std::chrono::nanoseconds guarded_tick();

  Elector& elector_;
  const Clock& clock_;
  std::chrono::nanoseconds release_delay_;
  std::chrono::nanoseconds shutdown_budget_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stop_requested_ = false;
  BootTime stop_requested_at_{};
  bool woken_ = false;
};

}  // namespace le::election
