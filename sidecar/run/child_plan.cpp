#include "run/child_plan.h"

#include <algorithm>

namespace le::run {
namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;

}  // namespace

std::optional<ChildPlan::Deadline> ChildPlan::renew_deadline_of(const election::ElectionSnapshot& snapshot) {
  // Counted from the term's last successful write as the elector counts it, but ignoring a
  // step-down or shutdown: a withheld term is still ours and still renewed, and its child still
  // has to be gone by that deadline.
  if (!snapshot.record_is_ours || !snapshot.renew_sent_boot || !snapshot.renew_sent_wall) return std::nullopt;
  return Deadline{
      *snapshot.renew_sent_boot + snapshot.renew_deadline,
      *snapshot.renew_sent_wall + duration_cast<WallClockTime::duration>(snapshot.renew_deadline)};
}

BootTime ChildPlan::Deadline::on_boot_clock(BootTime boot_now, WallClockTime wall_now) const {
  // Both clocks, as election::time_held: a paused VM stops even the boot clock, so the wall clock
  // may say the deadline has come when the boot clock does not.
  return std::min(boot, boot_now + duration_cast<nanoseconds>(wall - wall_now));
}

ChildStep ChildPlan::next(const election::ElectionSnapshot& snapshot, BootTime boot_now,
                          WallClockTime wall_now) {
  ChildStep step;
  if (!child_) {
    // Started only while this replica leads, judged as /leader judges it (so never while stopping,
    // stepping down or in the wait after a create), and never again for a term it ended.
    if (!snapshot.is_leader(boot_now, wall_now)) return step;
    if (ended_term_ && snapshot.term == *ended_term_) return step;
    if (restart_not_before_ && boot_now < *restart_not_before_) {
      step.wake_at = *restart_not_before_;
      return step;
    }
    step.start = true;
    return step;
  }

  Child& child = *child_;
  const bool same_term = snapshot.record_is_ours && snapshot.term == child.term;
  if (same_term) {
    // Renewals move the deadline on.
    if (const auto deadline = renew_deadline_of(snapshot)) child.deadline = *deadline;
  }
  // Other snapshots (the Lease lost, deleted, or a later term of ours) keep the last deadline
  // known, still judged on both clocks at every look.
  const BootTime deadline = child.deadline.on_boot_clock(boot_now, wall_now);

  BootTime terminate_at{};
  BootTime kill_at = deadline;
  if (snapshot.stopping || (same_term && snapshot.stepping_down)) {
    // Our own choice: the Lease is kept (renewed) until the child has exited, so it gets the whole
    // grace, bounded only by the term's deadline should renewals fail meanwhile.
    terminate_at = boot_now;
    kill_at = std::min(child.terminate_sent.value_or(boot_now) + timing_.grace, deadline);
  } else if (!same_term) {
    // The term is over (a conflict, a deleted Lease): the app is told at once, and killed by the
    // deadline, before anyone else can lead.
    terminate_at = boot_now;
  } else {
    terminate_at = deadline - timing_.grace;
  }

  if (!child.kill_sent && boot_now >= kill_at) {
    step.send = Signal::kill;
  } else if (!child.terminate_sent && boot_now >= terminate_at) {
    step.send = Signal::terminate;
  } else {
    const auto consider = [&](BootTime at) {
      if (!step.wake_at || at < *step.wake_at) step.wake_at = at;
    };
    if (!child.kill_sent) consider(kill_at);
    if (!child.terminate_sent) consider(terminate_at);
  }
  return step;
}

void ChildPlan::started(const election::ElectionSnapshot& snapshot, BootTime boot_now,
                        WallClockTime wall_now) {
  Child child;
  child.term = snapshot.term;
  child.started = boot_now;
  // Started from a leading snapshot, so the deadline is known; if not, kill at once.
  child.deadline = renew_deadline_of(snapshot).value_or(Deadline{boot_now, wall_now});
  child_ = child;
}

void ChildPlan::signalled(Signal signal, BootTime boot_now) {
  if (!child_) return;
  if (signal == Signal::none) return;
  if (!child_->terminate_sent) child_->terminate_sent = boot_now;
  if (signal == Signal::kill) child_->kill_sent = true;
}

ExitMeaning ChildPlan::exited(const election::ElectionSnapshot& snapshot, BootTime boot_now,
                              WallClockTime wall_now) {
  if (!child_) return ExitMeaning::expected;
  const Child child = *child_;
  child_.reset();
  if (child.terminate_sent) return ExitMeaning::expected;
  const bool still_leading =
      snapshot.record_is_ours && snapshot.term == child.term && snapshot.is_leader(boot_now, wall_now);
  if (!still_leading) return ExitMeaning::expected;
  if (timing_.on_exit == ExitPolicy::release) {
    ended_term_ = child.term;
    return ExitMeaning::end_term;
  }
  if (boot_now - child.started >= timing_.restart_backoff_reset) next_backoff_ = nanoseconds::zero();
  next_backoff_ = next_backoff_ == nanoseconds::zero()
                      ? timing_.restart_backoff_min
                      : std::min(next_backoff_ * 2, timing_.restart_backoff_max);
  restart_not_before_ = boot_now + next_backoff_;
  return ExitMeaning::restart_later;
}

}  // namespace le::run
