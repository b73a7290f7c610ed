#pragma once
// Runs an Elector on its own thread: tick, wait, tick; and on stop, the graceful hand-over
// (stop reporting leadership, keep renewing for the release delay, release, return).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "election/elector.h"
#include "election/lease_event.h"
#include "election/timing_rules.h"

namespace le::election {

// It is also where a watcher delivers Lease events: they are queued, and the loop hands them to the
// Elector on its own thread between ticks, so the Elector stays single-threaded.
class ElectionLoop final : public LeaseEventSink {
 public:
  // Everything after a stop request fits in this (see timing::kShutdownBudget).
  static constexpr std::chrono::seconds kDefaultShutdownBudget = timing::kShutdownBudget;

  ElectionLoop(Elector& elector, const Clock& clock, std::chrono::nanoseconds release_delay,
               std::chrono::nanoseconds shutdown_budget = kDefaultShutdownBudget);

  // Blocks until request_stop() and the hand-over are done.
  void run();
  // Thread-safe; wakes the loop at once.
  void request_stop();
  // The first request_stop()'s time plus the shutdown budget (nullopt before): what the other
  // parts that stop with the process (the traffic loop) must be done by. Thread-safe.
  std::optional<BootTime> shutdown_deadline() const;
  // Thread-safe; makes the loop run its next iteration now.
  void wake();

  // LeaseEventSink; thread-safe.
  void deliver(LeaseEvent event) override;
  std::string resume_version() const override;

 private:
  // Waits until `next_tick`, returning early on wake(), request_stop() or an event. Returns the
  // events that arrived, and sets `woken` if wake() was called.
  std::deque<LeaseEvent> wait(BootTime next_tick, bool& woken);
  void hand_over();
  std::chrono::nanoseconds guarded_tick();
  std::optional<std::chrono::nanoseconds> guarded_event(const LeaseEvent& event);
  void guarded_refresh();
  void note_version();
  // The shutdown deadline, under mutex_; nullopt before request_stop().
  std::optional<BootTime> shutdown_deadline_locked() const;

  Elector& elector_;
  const Clock& clock_;
  std::chrono::nanoseconds release_delay_;
  std::chrono::nanoseconds shutdown_budget_;
  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<LeaseEvent> events_;
  std::string observed_version_;
  // When request_stop() was first called; the shutdown deadline is this plus the budget.
  std::optional<BootTime> stop_requested_at_;
  bool woken_ = false;
};

}  // namespace le::election
