#pragma once
// Run mode's rules, without processes or threads: given the election's snapshot and the time, when
// to start the leader-only child, when to send it SIGTERM and SIGKILL, and what its exit means.
// The promise: the child is gone before any other replica can lead. Another replica can take over
// only once our record has gone unrenewed for a whole lease duration, which is longer than the renew
// deadline; so a child that is killed by the renew deadline of its term's last renewal is gone in
// time, whatever the API server or the network does. A step-down or shutdown we choose ourselves
// does better: SIGTERM at once, and the Lease is released only after the child has exited.
#include <chrono>
#include <cstdint>
#include <optional>

#include "election/clock.h"
#include "election/snapshot.h"

namespace le::run {

using election::BootTime;
using election::WallClockTime;

// --run-exit: what a child that exits on its own while its replica leads leads to.
enum class ExitPolicy {
  restart,  // start it again, after a back-off that grows while it keeps exiting
  release,  // end leadership (a step-down with the step-down hold-off), so another replica runs it
};

struct ChildTiming {
  // --run-grace: SIGTERM comes this long before the term's renew deadline (and SIGKILL at it); on a
  // step-down or shutdown, SIGKILL this long after SIGTERM.
  std::chrono::nanoseconds grace{std::chrono::seconds{5}};
  ExitPolicy on_exit = ExitPolicy::restart;
  std::chrono::nanoseconds restart_backoff_min{std::chrono::seconds{1}};
  std::chrono::nanoseconds restart_backoff_max{std::chrono::seconds{30}};
  // A child that ran this long before exiting starts the back-off again from its minimum.
  std::chrono::nanoseconds restart_backoff_reset{std::chrono::minutes{1}};
};

enum class Signal { none, terminate, kill };

struct ChildStep {
  bool start = false;  // start a child for the snapshot's term now
  Signal send = Signal::none;
  // When to look again if no new snapshot comes first (a signal falls due, a restart's back-off
  // ends). nullopt: only a new snapshot or the child's exit changes anything.
  std::optional<BootTime> wake_at;
};

// What an exit that nobody asked for means (ChildPlan::exited).
enum class ExitMeaning {
  expected,       // we had signalled it, or its term was over
  restart_later,  // on its own while leading: started again after the back-off
  end_term,       // on its own while leading, with ExitPolicy::release: step down from the term
};

class ChildPlan {
 public:
  explicit ChildPlan(ChildTiming timing) : timing_(timing) {}

  // Decides from the current snapshot. Call after every new snapshot, at wake_at, and after the
  // child exited. A step that starts or signals is carried out, reported (started, signalled), and
  // then next() is asked again; wake_at is set only on a step with nothing to do now.
  ChildStep next(const election::ElectionSnapshot& snapshot, BootTime boot_now, WallClockTime wall_now);

  // A child was started (or failed to start: report that as started, then exited) for the term of
  // `snapshot`, the one next() said to start from.
  void started(const election::ElectionSnapshot& snapshot, BootTime boot_now, WallClockTime wall_now);
  void signalled(Signal signal, BootTime boot_now);
  ExitMeaning exited(const election::ElectionSnapshot& snapshot, BootTime boot_now, WallClockTime wall_now);

  bool child_running() const { return child_.has_value(); }
  // The term the running child was started for; nullopt when there is no child.
  std::optional<std::uint64_t> child_term() const {
    return child_ ? std::optional<std::uint64_t>{child_->term} : std::nullopt;
  }

 private:
  // The renew deadline of a term's last renewal known, on each clock.
  struct Deadline {
    BootTime boot;
    WallClockTime wall;
    // The earlier of the two as a boot-clock instant, judged now.
    BootTime on_boot_clock(BootTime boot_now, WallClockTime wall_now) const;
  };
  static std::optional<Deadline> renew_deadline_of(const election::ElectionSnapshot& snapshot);

  struct Child {
    std::uint64_t term = 0;
    BootTime started{};
    Deadline deadline{};
    std::optional<BootTime> terminate_sent;
    bool kill_sent = false;
  };

  ChildTiming timing_;
  std::optional<Child> child_;
  std::optional<BootTime> restart_not_before_;
  std::optional<std::uint64_t> ended_term_;  // ExitPolicy::release: no new child for this term
  std::chrono::nanoseconds next_backoff_{0};
};

}  // namespace le::run
