// The elector's part in shutdown and in a step-down: stop reporting leadership, then hand the Lease
// back.
#include "election/elector.h"

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;
using util::to_micro;

void Elector::begin_stopping(BootTime deadline) {
  if (!shutdown_.begin(deadline)) return;
  if (holds()) spdlog::info("stopping: no longer reporting leadership of {}", lease_);
  set_status("stopping");
  publish();
}

bool Elector::release() {
  if (!holds()) {
    spdlog::info("not releasing {}: this replica does not hold it", lease_);
    return false;
  }
  if (const auto leading_not_before = terms_.leading_not_before();
      leading_not_before && clock_.boot_now() < *leading_not_before) {
    spdlog::info(
        "not releasing {}: this replica created it too recently (a leader of the deleted Lease may "
        "still lead); it will expire instead",
        lease_);
    return false;
  }
  if (before_release_ && !before_release_()) {
    spdlog::warn(
        "not releasing {}: what still acts for this term could not be ended in time; it will expire "
        "instead",
        lease_);
    return false;
  }
  // client-go's release record: no holder, a one-second lease, times now, transitions unchanged.
  const auto make_release = [&](const LeaderRecord& from) {
    LeaderRecord record;
    record.holder_identity = "";
    record.lease_duration = seconds{1};
    record.acquire_time = record.renew_time = to_micro(clock_.wall_now());
    record.lease_transitions = from.lease_transitions;
    return record;
  };
  auto result = store_.update(*observed_, make_release(observed_->record), timeout_for_request());
  if (!result.ok() && result.is(ApiErrorKind::conflict)) {
    // Someone changed the object since our last write. Only if it is still our record (say, a label
    // was edited) and we still hold it may we release; a deposed leader must never wipe a new
    // holder's record, which is what judging by a stale observed record would do.
    auto fresh = store_.get(timeout_for_request());
    if (!fresh.ok()) {
      spdlog::warn("release of {} abandoned: re-read failed: {}", lease_, fresh.error().describe());
      return false;
    }
    observe(fresh.value(), clock_.boot_now());
    if (!terms_.ours() || !holds()) {
      spdlog::info("release of {} abandoned: it is now held by {}", lease_,
                   describe_holder(observed_->record));
      return false;
    }
    result = store_.update(*observed_, make_release(observed_->record), timeout_for_request());
  }
  if (!result.ok()) {
    spdlog::warn("release of {} failed: {}; it will expire instead", lease_, result.error().describe());
    return false;
  }
  observe(result.value(), clock_.boot_now());
  terms_.disown();
  spdlog::info("released lease {}", lease_);
  set_status("released");
  publish();
  return true;
}

bool Elector::step_down(std::uint64_t term, nanoseconds release_delay, nanoseconds hold_off) {
  const BootTime now = clock_.boot_now();
  const SentTerms::Term* held = terms_.ours() && observed_ ? terms_.find(observed_->record) : nullptr;
  // Not holds(): a term whose renew deadline passed while the request was on its way is still in
  // the Lease under our name, and would be renewed again once the API server answers, while the
  // board hides it. Stepping down from it ends it like any other: renewed (if the API server lets
  // us) only through the step-down delay, then released and never taken up again.
  if (step_down_ || !held || held->number != term) {
    // The term ended meanwhile (or is already stepping down): nothing to hand back, but whoever
    // asked still wants this replica out of the running for a while.
    const BootTime until = now + hold_off;
    if (!campaign_not_before_ || *campaign_not_before_ < until) campaign_not_before_ = until;
    logged_campaign_wait_ = false;
    spdlog::info("step-down asked for term {}, which this replica no longer holds; not campaigning for {}ms",
                 term, duration_cast<milliseconds>(hold_off).count());
    return false;
  }
  step_down_ = StepDown{term, now + release_delay, hold_off};
  spdlog::info(
      "stepping down: no longer reporting leadership of {}; releasing it in {}ms, then not campaigning "
      "for {}ms",
      lease_, duration_cast<milliseconds>(release_delay).count(),
      duration_cast<milliseconds>(hold_off).count());
  set_status(std::string{ElectionSnapshot::kStatusSteppingDown});
  publish();
  return true;
}

nanoseconds Elector::finish_step_down() {
  const StepDown done = *step_down_;
  // Released or not (it may have been lost meanwhile, or the API server may fail the release), the
  // term is over for this process: a record of it left in the Lease is waited out, never renewed.
  release();
  terms_.abandon(done.term);
  step_down_.reset();
  const BootTime until = clock_.boot_now() + done.hold_off;
  if (!campaign_not_before_ || *campaign_not_before_ < until) campaign_not_before_ = until;
  logged_campaign_wait_ = false;
  need_read_ = true;
  spdlog::info("stepped down from {}; campaigning again in {}ms", lease_,
               duration_cast<milliseconds>(*campaign_not_before_ - clock_.boot_now()).count());
  set_status("stepped down");
  return std::min<nanoseconds>(config_.retry_period, std::max<nanoseconds>(done.hold_off, milliseconds{1}));
}

void Elector::set_candidate(bool candidate, std::string why) {
  if (candidate == candidate_) return;
  candidate_ = candidate;
  not_candidate_because_ = std::move(why);
  if (candidate) {
    spdlog::info("campaigning for {} again", lease_);
  } else {
    spdlog::info("not campaigning for {}: {}", lease_, not_candidate_because_);
  }
}

std::optional<nanoseconds> Elector::wait_before_campaign(BootTime now) {
  if (step_down_) {
    set_status(std::string{ElectionSnapshot::kStatusSteppingDown});
    return std::max<nanoseconds>(step_down_->release_at - now, milliseconds{1});
  }
  if (!candidate_) {
    set_status("not campaigning: " + not_candidate_because_);
    // Becoming a candidate again wakes the loop; with the watch up, any change of the Lease does.
    return watch_in_use() ? config_.watch_resync : backoff_.jittered_retry();
  }
  if (!campaign_not_before_ || now >= *campaign_not_before_) return std::nullopt;
  const nanoseconds left = *campaign_not_before_ - now;
  if (!logged_campaign_wait_) {
    spdlog::info("lease {} is free; this replica stepped down and campaigns again in {}ms", lease_,
                 duration_cast<milliseconds>(left).count());
    logged_campaign_wait_ = true;
  }
  // A fixed text: the status is part of /leader's index, and a countdown would wake every waiting client.
  set_status("stepped down, not campaigning until the hold-off ends");
  if (!watch_in_use()) return std::min(backoff_.jittered_retry(), left);
  return left + backoff_.spread(config_.acquire_spread);
}

}  // namespace le::election
