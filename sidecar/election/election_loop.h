#pragma once
// Runs an Elector on its own thread: tick, wait, tick; and on stop, the graceful hand-over
// (stop reporting leadership, keep renewing for the release delay, release, return).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "election/elector.h"
#include "election/lease_event.h"
#include "election/timing_rules.h"

namespace le::election {

// How a step-down goes: the Lease is kept for `release_delay` (--step-down-delay) after leadership
// is no longer reported, so the app, which is still running, notices first; then released; then
// this replica does not campaign for `hold_off`.
struct StepDownTiming {
  std::chrono::nanoseconds release_delay{0};
  std::chrono::nanoseconds hold_off{0};
};

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
  // Thread-safe: step down from `term` (Elector::step_down), as soon as the current iteration is
  // over. Use step_down() below, which also hides leadership at once.
  void request_step_down(std::uint64_t term, StepDownTiming timing);
  // Thread-safe: whether this replica may start a term (Elector::set_candidate), from the next
  // iteration on; the loop wakes at once.
  void set_candidate(bool candidate, std::string why = {});

  // LeaseEventSink; thread-safe.
  void deliver(LeaseEvent event) override;
  std::string resume_version() const override;

 private:
  struct StepDownRequest {
    std::uint64_t term;
    StepDownTiming timing;
  };
  // What ended a wait: the events and step-downs that arrived, and whether wake() was called.
  struct Arrivals {
    std::deque<LeaseEvent> events;
    std::vector<StepDownRequest> step_downs;
    std::optional<std::pair<bool, std::string>> candidate;
    bool woken = false;
  };
  // Waits until `next_tick`, returning early on wake(), request_stop(), a step-down or an event.
  Arrivals wait(BootTime next_tick);
  void hand_over();
  std::chrono::nanoseconds guarded_tick();
  std::optional<std::chrono::nanoseconds> guarded_event(const LeaseEvent& event);
  void guarded_refresh();
  bool guarded_step_down(const StepDownRequest& request);
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
  std::vector<StepDownRequest> step_downs_;
  std::optional<std::pair<bool, std::string>> candidate_;
  std::string observed_version_;
  // When request_stop() was first called; the shutdown deadline is this plus the budget.
  std::optional<BootTime> stop_requested_at_;
  bool woken_ = false;
};

// Any thread (the admin listener, SIGUSR1): a step-down. If this replica leads at this instant, it
// stops reporting leadership at once (the board), and the loop hands the Lease over as `timing`
// says (Elector::step_down). Returns the term stepped down from; nullopt, changing nothing, when
// this replica does not lead.
std::optional<std::uint64_t> step_down(SnapshotBoard& board, const Clock& clock, ElectionLoop& loop,
                                       StepDownTiming timing);

}  // namespace le::election
