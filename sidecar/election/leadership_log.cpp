#include "election/leadership_log.h"

#include <spdlog/spdlog.h>

namespace le::election {

std::optional<LeadershipTerm> LeadershipTracker::update(const ElectionSnapshot& snapshot, BootTime boot_now) {
  // The widest this replica could count itself leader: from the acquiring write's send time (a
  // created Lease's waiting period is leadership-free, so this is on the safe side) to the last
  // successful write's send time plus the renew deadline. The wall clock can only shorten that.
  const bool holds =
      snapshot.record_is_ours && !snapshot.leadership_withheld() && snapshot.renew_sent_boot.has_value();
  if (holds) {
    const BootTime sent = *snapshot.renew_sent_boot;
    const BootTime until = sent + snapshot.renew_deadline;
    // A write sent after the previous term had already run out starts a new term: in between,
    // this replica did not lead.
    if (!term_ || sent >= term_->valid_until) {
      term_ = LeadershipTerm{sent, until};
      return term_;
    }
    if (until == term_->valid_until) return std::nullopt;
    term_->valid_until = std::max(term_->valid_until, until);
    return term_;
  }
  if (!term_) return std::nullopt;
  // Stepped down or lost the Lease: the term ends now if it had not run out yet.
  LeadershipTerm ended = *term_;
  ended.valid_until = std::min(term_->valid_until, boot_now);
  term_.reset();
  return ended;
}

std::string format_leadership_line(const LeadershipTerm& term, bool ended) {
  return std::string(kLeadershipLogKey) + (ended ? " ended" : " holds") +
         " start_boot_ns=" + std::to_string(term.start.time_since_epoch().count()) +
         " valid_until_boot_ns=" + std::to_string(term.valid_until.time_since_epoch().count());
}

void LeadershipLog::on_snapshot(const ElectionSnapshot& snapshot) {
  std::lock_guard lock(mutex_);
  const bool holds =
      snapshot.record_is_ours && !snapshot.leadership_withheld() && snapshot.renew_sent_boot.has_value();
  if (const auto term = tracker_.update(snapshot, clock_.boot_now())) {
    spdlog::debug("{}", format_leadership_line(*term, !holds));
  }
}

}  // namespace le::election
