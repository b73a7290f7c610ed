#include "election/election_loop.h"

#include <algorithm>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;

ElectionLoop::ElectionLoop(Elector& elector, const Clock& clock, nanoseconds release_delay,
                           nanoseconds shutdown_budget)
    : elector_(elector), clock_(clock), release_delay_(release_delay), shutdown_budget_(shutdown_budget) {}

void ElectionLoop::run() {
  BootTime next_tick = clock_.boot_now();
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_requested_at_) break;
    }
    if (clock_.boot_now() >= next_tick) {
      next_tick = clock_.boot_now() + guarded_tick();
      note_version();
    }
    // A term that began with a create starts to lead at an instant of its own, usually between two
    // ticks: wake then too, so that it is announced when it happens.
    const auto leads_from = elector_.leads_from();
    const bool leading_starts = leads_from && *leads_from > clock_.boot_now() && *leads_from < next_tick;
    Arrivals arrived = wait(leading_starts ? *leads_from : next_tick);
    for (const LeaseEvent& event : arrived.events) {
      // An event's plan replaces the schedule: it was made from an older observation.
      if (const auto plan = guarded_event(event)) next_tick = clock_.boot_now() + *plan;
      note_version();
    }
    for (const StepDownRequest& request : arrived.step_downs) {
      // The release is due after the release delay, whatever the schedule said.
      if (guarded_step_down(request)) next_tick = std::min(next_tick, *elector_.step_down_release_at());
    }
    if (arrived.candidate) {
      elector_.set_candidate(arrived.candidate->first, std::move(arrived.candidate->second));
      next_tick = clock_.boot_now();  // a new candidate campaigns at once
    }
    if (leading_starts && clock_.boot_now() >= *leads_from) guarded_refresh();
    if (arrived.woken) next_tick = clock_.boot_now();
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

void ElectionLoop::guarded_refresh() {
  try {
    elector_.refresh();
  } catch (const std::exception& error) {
    spdlog::error("announcing leadership failed: {}", error.what());
  }
}

std::optional<nanoseconds> ElectionLoop::guarded_event(const LeaseEvent& event) {
  try {
    return elector_.on_lease_event(event);
  } catch (const std::exception& error) {
    spdlog::error("handling a watch event failed: {}", error.what());
    return std::nullopt;
  }
}

bool ElectionLoop::guarded_step_down(const StepDownRequest& request) {
  try {
    return elector_.step_down(request.term, request.timing.release_delay, request.timing.hold_off);
  } catch (const std::exception& error) {
    spdlog::error("stepping down failed: {}", error.what());
    return false;
  }
}

void ElectionLoop::note_version() {
  std::string version = elector_.observed_version();
  std::lock_guard lock(mutex_);
  observed_version_ = std::move(version);
}

void ElectionLoop::hand_over() {
  BootTime deadline;
  {
    std::lock_guard lock(mutex_);
    deadline = *shutdown_deadline_locked();
  }
  // Step one: stop reporting leadership (the signal handler already hid it from the endpoints), so
  // the app polling /leader and the readiness probe see it before anyone else can lead.
  elector_.begin_stopping(deadline);
  if (!elector_.holds()) return;
  // Step two: keep the Lease renewed, so that nobody takes over, until
  // - the release delay has passed, so the app, which may have been told it leads (a promise good
  //   for validForMs), has seen isLeader=false and stopped its leader work; or,
  // - for a term that began with a create and has not led yet, the wait after the create is over:
  //   the app was never told it leads, but before then a release would let a follower in while a
  //   leader of the deleted Lease still might lead.
  // Both within the shutdown budget, leaving room for the release itself.
  const BootTime now = clock_.boot_now();
  BootTime until = now + release_delay_;
  if (const auto leads_from = elector_.leads_from(); leads_from && *leads_from > now) until = *leads_from;
  // A step-down under way has been giving the app its release delay since it began.
  if (const auto release_at = elector_.step_down_release_at()) until = std::min(until, *release_at);
  const BootTime latest = deadline - timing::release_time(elector_.config().stopping_request_timeout);
  if (until > latest) {
    spdlog::warn("releasing the lease {}ms sooner than planned, to exit within the shutdown budget",
                 duration_cast<milliseconds>(until - latest).count());
    until = latest;
  }
  if (clock_.boot_now() < until) {
    spdlog::info("keeping the lease {}ms before releasing it",
                 duration_cast<milliseconds>(until - clock_.boot_now()).count());
  }
  while (clock_.boot_now() < until && elector_.holds()) {
    // tick() only renews now; request_stop() was already called, so a plain sleep is all that is
    // left to wait for.
    const nanoseconds next = guarded_tick();
    const nanoseconds left = until - clock_.boot_now();
    std::this_thread::sleep_for(std::min(next, left));
  }
  // Step three: release, so a follower takes over without waiting for expiry.
  try {
    elector_.release();
  } catch (const std::exception& error) {
    spdlog::error("release failed: {}; the lease will expire instead", error.what());
  }
}

void ElectionLoop::request_stop() {
  BootTime deadline;
  {
    std::lock_guard lock(mutex_);
    if (!stop_requested_at_) stop_requested_at_ = clock_.boot_now();
    deadline = *shutdown_deadline_locked();
  }
  elector_.request_stop(deadline);
  wakeup_.notify_all();
}

std::optional<BootTime> ElectionLoop::shutdown_deadline() const {
  std::lock_guard lock(mutex_);
  return shutdown_deadline_locked();
}

std::optional<BootTime> ElectionLoop::shutdown_deadline_locked() const {
  if (!stop_requested_at_) return std::nullopt;
  return *stop_requested_at_ + shutdown_budget_;
}

void ElectionLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void ElectionLoop::request_step_down(std::uint64_t term, StepDownTiming timing) {
  {
    std::lock_guard lock(mutex_);
    step_downs_.push_back({term, timing});
  }
  wakeup_.notify_all();
}

void ElectionLoop::set_candidate(bool candidate, std::string why) {
  {
    std::lock_guard lock(mutex_);
    candidate_ = std::pair{candidate, std::move(why)};
  }
  wakeup_.notify_all();
}

void ElectionLoop::deliver(LeaseEvent event) {
  {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  wakeup_.notify_all();
}

std::string ElectionLoop::resume_version() const {
  std::lock_guard lock(mutex_);
  return observed_version_;
}

ElectionLoop::Arrivals ElectionLoop::wait(BootTime next_tick) {
  std::unique_lock lock(mutex_);
  // The boot clock is not the condition variable's; wait in slices of what is left on it.
  wakeup_.wait_for(lock, std::max<nanoseconds>(next_tick - clock_.boot_now(), nanoseconds{0}), [this] {
    return stop_requested_at_ || woken_ || !events_.empty() || !step_downs_.empty() || candidate_.has_value();
  });
  Arrivals arrived;
  arrived.events.swap(events_);
  arrived.step_downs.swap(step_downs_);
  arrived.candidate.swap(candidate_);
  arrived.woken = std::exchange(woken_, false);
  return arrived;
}

std::optional<std::uint64_t> step_down(SnapshotBoard& board, const Clock& clock, ElectionLoop& loop,
                                       StepDownTiming timing) {
  const auto term = board.withhold_leadership(clock);
  if (term) loop.request_step_down(*term, timing);
  return term;
}

}  // namespace le::election
