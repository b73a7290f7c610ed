#include "election/elector.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;
using util::to_micro;

namespace {

// Liveness margin on top of the longest wait and the longest iteration.
constexpr nanoseconds kLivenessMargin = seconds{5};

milliseconds ceil_ms(nanoseconds d) { return std::max(milliseconds{1}, ceil<milliseconds>(d)); }

// leaseTransitions is an int32 in the API: it stops at the largest value rather than overflow (which
// would be undefined behaviour here and a record the server refuses).
std::int32_t next_transitions(std::int32_t transitions) {
  return transitions == std::numeric_limits<std::int32_t>::max() ? transitions : transitions + 1;
}

}  // namespace

Elector::Elector(ElectorConfig config, LeaseStore& store, const Clock& clock, SnapshotBoard& board,
                 std::function<double()> uniform01, std::shared_ptr<ElectionMetrics> metrics)
    : config_(std::move(config)),
      store_(store),
      clock_(clock),
      board_(board),
      lease_(store.describe()),
      terms_(config_.identity),
      backoff_(config_.retry_period, config_.jitter_factor, config_.lease_duration, std::move(uniform01)),
      shutdown_(config_.stopping_request_timeout),
      metrics_(metrics ? std::move(metrics) : std::make_shared<ElectionMetrics>()) {
  config_.request_timeout = timing::bounded_request_timeout(config_.request_timeout, config_.renew_deadline);
  set_status("starting");
  publish();
}

// ---------------------------------------------------------------------------------------------
// The loop

// One iteration, step by step as client-go's tryAcquireOrRenew.
nanoseconds Elector::tick() {
  if (step_down_ && clock_.boot_now() >= step_down_->release_at) {
    next_delay_ = finish_step_down();
    publish();
    return next_delay_;
  }
  nanoseconds delay;
  if (holds() && !need_read_ && !config_.read_before_renew) {
    // 1. The leader's fast path: one conditional update carrying the resourceVersion of our own
    //    last write (client-go 1.30+ does the same). Anyone else's write in between makes it fail
    //    with 409; then it re-reads and decides.
    delay = write(observed_->record, false, true);
  } else if (need_read_ || !observed_ || !watch_in_use()) {
    // 2a. Read the Lease (a missing one is created only after a wait: on_lease_missing), then decide.
    delay = read_and_decide();
  } else {
    // 2b. A follower whose watch keeps its observation current: no read needed.
    delay = decide(clock_.boot_now());
  }
  // A step-down releases on time, whatever the election would wait for.
  if (step_down_) {
    delay =
        std::min(delay, std::max<nanoseconds>(step_down_->release_at - clock_.boot_now(), milliseconds{1}));
  }
  next_delay_ = delay;
  publish();
  return delay;
}

nanoseconds Elector::read_and_decide() {
  auto result = store_.get(timeout_for_request());
  const BootTime now = clock_.boot_now();
  if (!result.ok()) {
    if (result.is(ApiErrorKind::not_found)) return on_lease_missing(now);
    conflict_while_holding_ = false;
    // Our record needs this read before its renewal (after a failed write, or --takeover poll): its
    // failure is the renewal's.
    if (terms_.ours()) {
      note_renewal_failure(
          result.error().kind == ApiErrorKind::timeout ? RenewalResult::timeout : RenewalResult::error,
          result.error().describe());
    }
    return failure_delay(result.error(), "read");
  }
  backoff_.note_contact();
  logged_missing_ = false;
  observe(result.value(), now);
  need_read_ = false;
  return decide(now);
}

// Steps 3 to 7: what to do about the record observed last (read, or delivered by the watch).
nanoseconds Elector::decide(BootTime now) {
  const LeaderRecord& record = observed_->record;
  if (terms_.ours()) {
    // 3. Our record: renew it, whether we still hold it or its answer was lost or the deadline
    //    passed. No one else wrote since (that would have changed the record), and the update is
    //    conditional on this version, so a write by anyone in between makes it fail. While
    //    shutting down, only a record we still hold is renewed.
    if (shutdown_.stopping() && !holds()) return config_.retry_period;
    metrics_->slowpath.add();  // a renewal that needed a read (or a deadline gone by) first
    return write(record, false, false);
  }
  // 4. Never start a term while shutting down.
  if (shutdown_.stopping()) return config_.retry_period;
  // 5. Someone else's lease, live by our own observation: follow it.
  if (const auto wait = follow_live_holder(now)) return *wait;
  note_free_seen(now);
  // 6. Free, but not released by a holder: wait out any leader it may have been taken from; and
  //    after a step-down, the hold-off.
  if (const auto wait = wait_out_hold_off(now)) return *wait;
  if (const auto wait = wait_before_campaign(now)) return *wait;
  // 7. Free or expired: start a new term (client-go counts it in leaseTransitions). The update is
  //    conditional on the version read, so of all replicas that try, at most one succeeds.
  if (record.has_holder()) {
    spdlog::info(
        "lease {} held by {} has expired ({}s after this replica last saw it change); trying to take over",
        lease_, describe_holder(record), record.lease_duration.value_or(seconds{0}).count());
  }
  return write(
      terms_.start(next_transitions(record.lease_transitions), config_.lease_duration, clock_.wall_now()),
      true, false);
}

std::optional<nanoseconds> Elector::wait_out_hold_off(BootTime now) {
  if (!hold_off_until_ || now >= *hold_off_until_) return std::nullopt;
  const nanoseconds left = *hold_off_until_ - now;
  if (!logged_hold_off_) {
    spdlog::info(
        "lease {} is free but was not released by a holder (missing, created again or never held); taking it "
        "in {}ms, once a leader it was taken from must have stepped down",
        lease_, duration_cast<milliseconds>(left).count());
    logged_hold_off_ = true;
  }
  set_status("lease free, waiting out a possible leader");
  if (!watch_in_use()) return std::min(backoff_.jittered_retry(), left);
  // With the watch, any change before then arrives as an event; the spread keeps the followers
  // from all writing at the same instant.
  return left + backoff_.spread(config_.acquire_spread);
}

// The Lease was deleted, created again or reset, under whoever held it: from now on a free record is
// taken only after the longer of our lease duration and the last holder's, counted from now, the
// first moment this replica knew. A holder with a longer lease than ours is waited out by its own.
void Elector::note_lease_changed_under_us(BootTime now, const char* what) {
  const seconds longest = std::max(config_.lease_duration, last_lease_duration_.value_or(seconds{0}));
  const BootTime until = now + longest;
  if (!hold_off_until_ || *hold_off_until_ < until) hold_off_until_ = until;
  logged_hold_off_ = false;
  spdlog::info("lease {} {}; a free record is taken no sooner than {}ms from now", lease_, what,
               duration_cast<milliseconds>(*hold_off_until_ - now).count());
}

// While someone else's lease is live (by our own observation), how long to wait before looking again.
std::optional<nanoseconds> Elector::follow_live_holder(BootTime now) {
  const LeaderRecord& record = observed_->record;
  if (!record.has_holder()) return std::nullopt;
  const BootTime expires = observed_at_ + record.lease_duration.value_or(seconds{0});
  if (now >= expires) return std::nullopt;
  free_seen_at_.reset();
  set_status("following " + record.holder_identity);
  return follow(expires, now);
}

// A follower waits for its next chance: with the watch up, until the holder's lease runs out (any
// change before then arrives as an event and re-plans); without it, client-go's jittered poll.
nanoseconds Elector::follow(BootTime expires, BootTime now) {
  if (!watch_in_use()) return backoff_.jittered_retry();
  const nanoseconds until_expiry = std::max<nanoseconds>(expires - now, milliseconds{1});
  if (until_expiry > config_.watch_resync) {
    need_read_ = true;  // a stalled stream would otherwise go unnoticed for that long
    return config_.watch_resync;
  }
  return until_expiry;
}

// A missing Lease is not a free one: someone may have deleted it under a live leader, who will go
// on leading until its deadline. Wait (see hold_off_until_) from the first 404 before creating it.
nanoseconds Elector::on_lease_missing(BootTime now) {
  backoff_.note_contact();
  if (terms_.ours() || terms_.last_renewal()) lose_leadership("lease " + lease_ + " was deleted");
  note_free_seen(now);
  if (!lease_gone_) {
    lease_gone_ = true;
    note_lease_changed_under_us(now, "does not exist");
  }
  // A create of ours that never answered either did not apply or was deleted since.
  unanswered_create_.reset();
  observed_.reset();
  terms_.disown();
  need_read_ = true;
  if (now >= *hold_off_until_) {
    if (shutdown_.stopping()) return config_.retry_period;
    if (const auto wait = wait_before_campaign(now)) return *wait;
    return create();
  }
  const auto wait = *hold_off_until_ - now;
  if (!logged_missing_) {
    spdlog::info(
        "lease {} does not exist; creating it in {}ms unless it appears (a deleted Lease may still have a "
        "live leader)",
        lease_, duration_cast<milliseconds>(wait).count());
    logged_missing_ = true;
  }
  set_status("lease missing");
  return std::min(backoff_.jittered_retry(), duration_cast<nanoseconds>(wait));
}

// Creating the Lease proves only that it did not exist at the moment the server applied the create,
// not that nobody leads: polling cannot see a Lease that was created and deleted again between two
// of our reads, and whoever held it may still count itself leader until its renew deadline, which
// ends before (the delete) + renew deadline. The create applied after the delete and before its
// answer came, but perhaps long after it was sent. So a process that created the Lease holds it at
// once (it renews, others follow its record) but starts to lead only one renew deadline after the
// answer came (or, answer lost, after it first saw its record). The wait belongs to the term: a
// conflict during the wait must not shorten it. The randomized election test finds the split brain
// without this.
nanoseconds Elector::create() {
  // client-go creates with leaseTransitions 0: the first holder of a new Lease.
  LeaderRecord desired = terms_.start(0, config_.lease_duration, clock_.wall_now());
  desired.holder_address = holder_address_;
  const SendTime sent = send_time();
  auto result = store_.create(desired, timeout_for_request());
  if (result.ok()) {
    terms_.latest().leading_not_before = clock_.boot_now() + config_.renew_deadline;
    terms_.latest().uid = result.value().uid;
    logged_missing_ = false;
    accept_own_write(result.value(), sent, true, Origin::own_create);
    if (const auto leading_not_before = terms_.leading_not_before()) {
      spdlog::info(
          "created lease {}; leading {}ms from now, once any leader of a deleted Lease must have stepped "
          "down",
          lease_, duration_cast<milliseconds>(*leading_not_before - clock_.boot_now()).count());
    }
    return config_.retry_period;
  }
  if (result.is(ApiErrorKind::already_exists)) {
    spdlog::info("lease {} was created by another replica first", lease_);
    return backoff_.jittered_retry();
  }
  if (result.error().outcome_unknown()) unanswered_create_ = desired.acquire_time;
  return failure_delay(result.error(), "create");
}

// An update of the record we observed last, conditional on its resourceVersion. A renewal keeps
// the term (acquireTime, leaseTransitions) and refreshes renewTime; a new term was built whole.
nanoseconds Elector::write(const LeaderRecord& base_record, bool new_term, bool reread_on_conflict) {
  LeaderRecord desired = base_record;
  desired.holder_address = holder_address_;
  if (new_term) {
    terms_.latest().uid = observed_->uid;  // the update's UID precondition: only this object
  } else {
    desired.renew_time = to_micro(clock_.wall_now());
    desired.lease_duration = config_.lease_duration;
  }
  const SendTime sent = send_time();
  auto result = store_.update(*observed_, desired, timeout_for_request());
  if (result.ok() && result.value().resource_version == observed_->resource_version) {
    // The body equalled the stored record (a wall clock that did not move gives the same renewTime):
    // the server changed nothing, so no new version and no event, and no follower's expiry clock
    // restarted. That is no renewal; our deadline stays where it was.
    spdlog::warn(
        "update of {} changed nothing on the server (is the wall clock stuck?); not counted as a renewal",
        lease_);
    if (!new_term) note_renewal_failure(RenewalResult::error, "an update that changed nothing");
    return backoff_.jittered_retry();
  }
  if (result.ok()) {
    if (!new_term) {
      metrics_->count_renewal(RenewalResult::success);
      renew_failures_in_a_row_ = 0;
    }
    accept_own_write(result.value(), sent, new_term, Origin::own_update);
    return config_.retry_period;
  }
  need_read_ = true;
  const ApiError& error = result.error();
  const bool lost_race = error.kind == ApiErrorKind::conflict || error.kind == ApiErrorKind::not_found;
  if (!new_term && lost_race) metrics_->count_renewal(RenewalResult::conflict);
  if (!new_term && !lost_race) {
    note_renewal_failure(error.kind == ApiErrorKind::timeout ? RenewalResult::timeout : RenewalResult::error,
                         error.describe());
  }
  if (lost_race) {
    // Someone else wrote (or deleted) the Lease since we read or wrote it: stop claiming leadership
    // before anything else, then read what is there and decide again. Whether our term was still
    // valid is kept for the read: a record written over a valid term is a warning (observe()).
    conflict_while_holding_ = holds();
    if (terms_.ours()) lose_leadership("update of " + lease_ + " failed: " + error.describe());
    spdlog::debug("update of {} lost a race: {}", lease_, error.describe());
    // The fast path re-reads at once (once: a storm of conflicts must not recurse).
    return reread_on_conflict ? read_and_decide() : backoff_.jittered_retry();
  }
  // The write may or may not have been applied. Leadership lasts until the deadline counted from
  // the last write known to have succeeded; the next try reads first.
  return failure_delay(error, new_term ? "acquire" : "renew");
}

// ---------------------------------------------------------------------------------------------
// Timing

bool Elector::holds_at(BootTime boot_now, WallClockTime wall_now) const {
  return terms_.ours() && terms_.last_renewal() &&
         time_held(*terms_.last_renewal(), config_.renew_deadline, boot_now, wall_now);
}

bool Elector::holds() const { return holds_at(clock_.boot_now(), clock_.wall_now()); }

bool Elector::is_leader() const {
  return terms_.ours() &&
         time_leading(terms_.last_renewal(), config_.renew_deadline, terms_.leading_not_before(),
                      shutdown_.begun() || step_down_.has_value(), clock_.boot_now(), clock_.wall_now());
}

milliseconds Elector::timeout_for_request() const {
  // Not shortened near the deadline: a renewal answered late still counts from its own send time
  // (and request_timeout <= renew_deadline, so its answer comes while that counts), so waiting for it
  // can only shorten a gap. Leadership itself is judged from the snapshot at every question.
  return ceil_ms(shutdown_.bound(config_.request_timeout, clock_.boot_now()));
}

nanoseconds Elector::failure_delay(const ApiError& error, const char* what) {
  const bool starting = !backoff_.contacted();
  if (starting && error.kind == ApiErrorKind::forbidden)
    notify(ElectionNotice::Kind::forbidden, forbidden_detail(error, what));
  const nanoseconds delay = backoff_.after_failure(error.retry_after);
  if (starting) {
    // Start-up: the API server has not answered yet (the back-off grows); say what we wait for.
    spdlog::warn("waiting for the API server: {} of {} failed: {}; retrying in {}ms", what, lease_,
                 error.describe(), duration_cast<milliseconds>(delay).count());
    set_status("waiting for the API server: " + error.describe());
    return delay;
  }
  if (error.kind == ApiErrorKind::forbidden)
    notify(ElectionNotice::Kind::forbidden, forbidden_detail(error, what));
  const auto level = error.kind == ApiErrorKind::unauthorized || error.kind == ApiErrorKind::forbidden
                         ? spdlog::level::err
                         : spdlog::level::warn;
  spdlog::log(level, "{} of {} failed: {}; retrying in {}ms", what, lease_, error.describe(),
              duration_cast<milliseconds>(delay).count());
  if (!holds()) set_status(std::string(what) + " failed: " + error.describe());
  return delay;
}

std::string Elector::describe_holder(const LeaderRecord& record) {
  return record.has_holder() ? "\"" + record.holder_identity + "\"" : "nobody";
}

void Elector::set_status(std::string status) { status_ = std::move(status); }

void Elector::publish() {
  auto snapshot = std::make_shared<ElectionSnapshot>();
  snapshot->identity = config_.identity;
  snapshot->lease = lease_;
  if (observed_) snapshot->observed = observed_->record;
  snapshot->record_is_ours = terms_.ours();
  if (terms_.ours()) {
    if (const SentTerms::Term* term = terms_.find(observed_->record)) {
      snapshot->term = term->number;
      snapshot->fencing_token = term->fencing_token;
    }
  }
  if (const auto& renewed = terms_.last_renewal()) {
    snapshot->renew_sent_boot = renewed->boot;
    snapshot->renew_sent_wall = renewed->wall;
  }
  snapshot->renew_deadline = config_.renew_deadline;
  snapshot->leading_not_before = terms_.leading_not_before();
  snapshot->stopping = shutdown_.begun();
  snapshot->stepping_down = step_down_.has_value();
  // Alive while the next iteration is due, plus the longest an iteration can take (a read and a
  // write, each bounded by the request timeout), plus a margin.
  const nanoseconds longest_wait = std::max<nanoseconds>(next_delay_, config_.lease_duration);
  snapshot->alive_until = clock_.boot_now() + longest_wait + 2 * config_.renew_deadline + kLivenessMargin;
  snapshot->status = status_;
  board_.publish(std::move(snapshot));
  // Say when leadership begins, including when the wait after a create ends between events, and
  // when it ends, however it ends (a conflict, the deadline, shutdown).
  const bool leading = is_leader();
  if (leading && !announced_leading_) {
    spdlog::info("now leading {}", lease_);
    notify(ElectionNotice::Kind::became_leader);
  } else if (!leading && announced_leading_) {
    notify(ElectionNotice::Kind::stopped_leading);
  }
  announced_leading_ = leading;
}

void Elector::notify(ElectionNotice::Kind kind, std::string detail) noexcept {
  if (!notice_sink_) return;
  // Only ever called once the state it reports is in place; a sink that fails (memory) must not
  // leave the election half-way through a step.
  try {
    ElectionNotice notice;
    notice.kind = kind;
    if (observed_) {
      notice.lease_uid = observed_->uid;
      notice.lease_resource_version = observed_->resource_version;
    }
    notice.detail = std::move(detail);
    notice_sink_(notice);
  } catch (const std::exception& error) {
    spdlog::error("could not pass on a notice for operators: {}", error.what());
  }
}

void Elector::note_renewal_failure(RenewalResult result, const std::string& what) {
  metrics_->count_renewal(result);
  if (++renew_failures_in_a_row_ == kRenewFailuresToReport) {
    notify(ElectionNotice::Kind::renew_failing,
           std::to_string(kRenewFailuresToReport) + " renewals of lease " + lease_ +
               " failed in a row (last: " + what +
               "); it steps down at its renew deadline unless one succeeds");
  }
}

std::string Elector::forbidden_detail(const ApiError& error, const char* what) const {
  return std::string(what) + " of lease " + lease_ + " was refused: " + error.describe() +
         " (the Role needs get, update, list and watch on leases with resourceNames [the Lease's name], and "
         "create on leases while the Lease does not exist)";
}

}  // namespace le::election
