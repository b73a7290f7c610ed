// The elector's bookkeeping of what it saw and wrote: whether the observed record is ours, when
// its expiry clock restarts, and when the Lease changed under whoever held it.
#include "election/elector.h"

#include <utility>

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;
using util::format_micro_time;

namespace {

// A record that no holder ever wrote: no renewTime. client-go's and our release write one.
bool never_held(const LeaderRecord& record) { return !record.has_holder() && !record.renew_time; }

}  // namespace

void Elector::observe(const StoredLease& lease, BootTime now, Origin origin) {
  // Like client-go, the expiry clock restarts only when the leader record itself changes, not on
  // an edit of labels or annotations that merely bumps the resourceVersion.
  // A record copied into a new object (a restored export) is a change too.
  if (!observed_ || observed_->record != lease.record || observed_->uid != lease.uid) observed_at_ = now;
  // An object this process has not seen before ("" : the server sent no uid, nothing to compare).
  const bool unseen_object = !lease.uid.empty() && lease.uid != known_uid_;
  if (unseen_object && !known_uid_.empty() && !lease_gone_ && origin != Origin::own_create) {
    // We missed the deletion: the object was replaced (kubectl replace --force, Argo CD's
    // Replace=true,Force=true) under whoever held it.
    note_lease_changed_under_us(now, "was deleted and created again");
  } else if (never_held(lease.record) &&
             !(observed_ && never_held(observed_->record) && observed_->uid == lease.uid &&
               observed_->resource_version == lease.resource_version)) {
    // Reset in place (`kubectl replace` or `helm upgrade --force` of the chart's `spec: {}`), created
    // empty, or seen so at start-up: the holder it was taken from, if any, may still lead. Any new
    // version counts: between two reads of an empty record someone may have held it and had it
    // reset again (a label edit on an empty Lease costs a wait, never a second leader).
    note_lease_changed_under_us(now, "has a record that no holder wrote or released");
  }

  SentTerms::Term* term = terms_.find(lease.record);
  if (term && !lease.uid.empty() && term->uid != lease.uid) {
    // Our record in an object our term was not written into (a restored or exported-and-replaced
    // Lease) is not a term we hold, whatever its acquireTime: a copy of a record is not a renewal
    // of it. Only the create this process sent and never heard back from may have made an object
    // we have not seen; then we lead only a renew deadline after now, as after a create.
    if (term->uid.empty() && unanswered_create_ && lease.record.acquire_time == unanswered_create_) {
      term->uid = lease.uid;
      term->leading_not_before = now + config_.renew_deadline;
      spdlog::info("lease {} was created by this replica's unanswered create; leading {}ms from now", lease_,
                   duration_cast<milliseconds>(config_.renew_deadline).count());
    } else {
      term = nullptr;
    }
  }
  unanswered_create_.reset();
  if (term && term->fencing_token.empty()) term->fencing_token = lease.resource_version;
  const std::string previous_uid = known_uid_;
  if (!lease.uid.empty()) known_uid_ = lease.uid;
  lease_gone_ = false;
  last_version_ = lease.resource_version;
  last_lease_duration_ = lease.record.lease_duration;
  observed_ = lease;
  const bool ours = term != nullptr;
  // Someone else's record in our object while our term was valid (here, or when the renewal that
  // found out lost its conflict): no elector that waits for expiry writes that. A release has no
  // holder; a deletion or a re-created object is not this. Reported once the state is in place.
  const bool taken_while_valid = !ours && (holds() || std::exchange(conflict_while_holding_, false)) &&
                                 lease.record.has_holder() &&
                                 (lease.uid.empty() || lease.uid == previous_uid);
  conflict_while_holding_ = false;
  if (!ours && (terms_.ours() || terms_.last_renewal())) {
    lose_leadership("lease " + lease_ + " is now held by " + describe_holder(lease.record));
  }
  terms_.adopt(term);
  if (taken_while_valid) {
    notify(ElectionNotice::Kind::lease_taken,
           "lease " + lease_ + " was taken by " + describe_holder(lease.record) +
               " while this replica's term was valid: something writes the Lease without waiting for it to "
               "expire");
  }
  if (lease.record.holder_identity != last_logged_holder_) {
    last_logged_holder_ = lease.record.holder_identity;
    if (!ours) spdlog::info("lease {} is held by {}", lease_, describe_holder(lease.record));
  }
}

void Elector::accept_own_write(const StoredLease& written, const SendTime& sent, bool new_term,
                               Origin origin) {
  const bool was_leading = holds();
  observe(written, clock_.boot_now(), origin);
  need_read_ = false;
  if (!terms_.ours()) {
    // The server answered with a record that is not the one we wrote; trust the server.
    spdlog::warn("write of {} returned a record held by {}", lease_, describe_holder(written.record));
    need_read_ = true;
    return;
  }
  terms_.renewed(sent);
  renew_failures_in_a_row_ = 0;
  if (new_term) {
    metrics_->terms_started.add();
    // Leadership begins now, or for a create once its wait is over.
    const BootTime leads_from = terms_.leading_not_before().value_or(clock_.boot_now());
    if (free_seen_at_) metrics_->time_to_lead.observe(std::max<nanoseconds>(leads_from - *free_seen_at_, {}));
    free_seen_at_.reset();
  }
  if (!was_leading) {
    spdlog::info("{} lease {} (term {}, leaseTransitions {})", new_term ? "acquired" : "renewed our own",
                 lease_, written.record.acquire_time ? format_micro_time(*written.record.acquire_time) : "?",
                 written.record.lease_transitions);
  }
  const auto leading_not_before = terms_.leading_not_before();
  const bool waiting = leading_not_before && clock_.boot_now() < *leading_not_before;
  set_status(shutdown_.begun() ? std::string{"stopping"}
             : step_down_      ? std::string{ElectionSnapshot::kStatusSteppingDown}
             : waiting         ? std::string{ElectionSnapshot::kStatusHoldingNotLeading}
                               : std::string{ElectionSnapshot::kStatusLeading});
}

void Elector::lose_leadership(const std::string& reason) {
  const bool was_leading = is_leader();
  terms_.forget_renewal();
  renew_failures_in_a_row_ = 0;
  if (was_leading) spdlog::warn("stepped down: {}", reason);
  set_status("not leading");
  publish();  // at once, before any further request
}

}  // namespace le::election
