#pragma once
// The election state machine: client-go's LeaderElector (tools/leaderelection), reworked so that
// at most one process believes it leads at any instant. It owns no I/O: it talks to a LeaseStore
// and reads a Clock, and every call returns at once in tests. The decision, tick() step by step, is
// in elector.cpp; the bookkeeping of what it saw and wrote, watch events and shutdown are in
// elector_observe.cpp, elector_watch.cpp and elector_release.cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "election/backoff.h"
#include "election/clock.h"
#include "election/election_metrics.h"
#include "election/election_notice.h"
#include "election/leadership.h"
#include "election/lease_event.h"
#include "election/lease_store.h"
#include "election/sent_terms.h"
#include "election/shutdown.h"
#include "election/snapshot.h"
#include "election/timing_rules.h"

namespace le::election {

struct ElectorConfig {
  // Who we are in holderIdentity. Two live processes must never share one; even if they do, a
  // process only renews records whose acquireTime it sent itself.
  std::string identity;
  // What this replica promises the others in leaseDurationSeconds: they may take over this long
  // after they last saw the record change.
  std::chrono::seconds lease_duration{15};
  // The leader steps down if it has not renewed successfully for this long (measured from the send
  // time of the last successful write). Must be below lease_duration: the gap is the margin
  // for clock-rate differences and for the time a follower needs to observe a renewal.
  std::chrono::nanoseconds renew_deadline{std::chrono::seconds{10}};
  // How often the leader renews and followers poll.
  std::chrono::nanoseconds retry_period{std::chrono::seconds{2}};
  // client-go's JitterFactor: a follower's next poll, and any retry after a failure, comes after
  // retry_period * (1 + jitter_factor * random).
  double jitter_factor = timing::kJitterFactor;
  // The longest a read or write may take while this replica does not hold the Lease. Never more
  // than renew_deadline; while holding, a request is bounded by the time left to the deadline.
  std::chrono::nanoseconds request_timeout{std::chrono::seconds{5}};
  // While shutting down, requests are bounded by this as well, so the process exits well inside
  // Kubernetes' termination grace period even when the API server hangs.
  std::chrono::nanoseconds stopping_request_timeout{timing::kStoppingRequestTimeout};
  // client-go v0.20's polling, kept as the benchmarks' baseline: the leader reads the Lease before
  // every renewal (GET + Update), and followers take over only on a poll tick.
  bool read_before_renew = false;
  // When a watch event shows the Lease released, a follower tries to acquire after a random delay
  // of up to this, so that N followers do not all send their update at once.
  std::chrono::nanoseconds acquire_spread{std::chrono::milliseconds{5}};
  // While the watch is up, a follower that has seen no change re-reads the Lease this often anyway,
  // in case the stream stalled without breaking.
  std::chrono::nanoseconds watch_resync{std::chrono::seconds{60}};
};

class Elector {
 public:
  // uniform01 returns a random number in [0, 1) for the jitter.
  // `metrics` is where it counts what /metrics shows (shared with the scrape side).
  Elector(ElectorConfig config, LeaseStore& store, const Clock& clock, SnapshotBoard& board,
          std::function<double()> uniform01,
          std::shared_ptr<ElectionMetrics> metrics = std::make_shared<ElectionMetrics>());

  // One iteration of the loop: renew, or read and decide (acquire, follow, create). Returns how
  // long to wait before the next iteration. Publishes a new snapshot on every change.
  std::chrono::nanoseconds tick();

  // Thread-safe: shutdown has been asked for, and must be over by `deadline`. An iteration already
  // under way on the election thread starts no term and creates no Lease after its next check, and
  // its further requests are bounded as those of a stopping elector are.
  void request_stop(BootTime deadline) { shutdown_.request(deadline); }

  // Shutdown, step one: stop reporting leadership at once. tick() still renews a Lease this
  // process holds (so it does not expire during the release delay) but never acquires one. No
  // request made from now on runs past `deadline`.
  void begin_stopping(BootTime deadline);

  // Shutdown, step two: hands the Lease back with client-go's release record, if and only if this
  // process still holds it and is past the wait after creating it (see create(): before then a
  // leader of a deleted predecessor may still lead, and a release would let a follower in at once;
  // expiry keeps the others out long enough). Never touches another holder's record. Returns
  // whether it released.
  bool release();

  // Step down from term `term` (ElectionSnapshot::term, as SnapshotBoard::withhold_leadership
  // returned it): stop reporting leadership at once, go on renewing the Lease for `release_delay`
  // (the app, told it leads, learns that it does not and stops its leader work), then release it
  // at the first tick from then (tick() returns no later), and start no term for `hold_off` after
  // that. Returns false, changing nothing but the hold-off, if this process no longer holds that
  // term (it ended meanwhile). Election thread.
  bool step_down(std::uint64_t term, std::chrono::nanoseconds release_delay,
                 std::chrono::nanoseconds hold_off);
  // Whether this replica may start a term (campaign). Without it, it still follows and renews a
  // term it holds; `why` is what its status says meanwhile ("the app's health check fails").
  // Election thread; a replica is a candidate unless told otherwise.
  void set_candidate(bool candidate, std::string why = {});
  // While a step-down waits for its release: when the release is due.
  std::optional<BootTime> step_down_release_at() const {
    return step_down_ ? std::optional{step_down_->release_at} : std::nullopt;
  }

  // A watch event, on the election loop's thread. Returns when the next tick should run (replacing
  // the loop's schedule), or nullopt to keep it. Events only ever inform: a record seen through the
  // watch never extends this process's leadership (only its own successful writes do), but a newer
  // record written by anyone else ends it at once.
  std::optional<std::chrono::nanoseconds> on_lease_event(const LeaseEvent& event);

  // The newest resourceVersion seen (a record, or a deletion), "" if none: where a watch resumes.
  std::string observed_version() const { return last_version_; }

  // When the current term began with a create: the instant from which this process may lead.
  std::optional<BootTime> leads_from() const { return terms_.leading_not_before(); }
  // Publishes again without any request: leadership that began by time alone (the wait after a
  // create ended between ticks) is announced at once, in the log and as a notice, rather than at the
  // next tick, which a shutdown may never let come.
  void refresh() { publish(); }

  // Whether this process holds the Lease now (its record, renewed within the deadline). Leading
  // is holding and not stopping.
  bool holds() const;
  bool is_leader() const;

  const ElectorConfig& config() const { return config_; }
  const ElectionMetrics& metrics() const { return *metrics_; }
  // Where leadership changes and conditions for operators go (Kubernetes Events). Set before the
  // election starts; called on the election thread and must return at once.
  void set_notice_sink(NoticeSink sink) { notice_sink_ = std::move(sink); }
  // Called on the election thread just before a release is sent (shutdown, the end of a step-down),
  // while the Lease is still ours: whatever still acts for the term (the proxy's open exchanges)
  // must end first, since the release lets the next leader in at once. Returns false when that
  // could not be confirmed; then nothing is released and the Lease expires instead. Set before the
  // election starts.
  void set_before_release(std::function<bool()> hook) { before_release_ = std::move(hook); }
  // Where this replica's proxy is reached ("IP:PORT"), written with every record it holds
  // (LeaderRecord::holder_address) so that followers can pass requests to it. Set before the
  // election starts; "" (the default) writes none.
  void set_holder_address(std::string address) { holder_address_ = std::move(address); }

 private:
  std::chrono::nanoseconds read_and_decide();
  std::chrono::nanoseconds decide(BootTime now);
  // A follower's next step after a watch event: when the holder's lease runs out, or (a free Lease)
  // after a short random spread.
  std::optional<std::chrono::nanoseconds> plan_after_event(BootTime now);
  std::chrono::nanoseconds follow(BootTime expires, BootTime now);
  std::optional<std::chrono::nanoseconds> follow_live_holder(BootTime now);
  // While a free record may not be taken yet (see hold_off_until_), how long to wait.
  std::optional<std::chrono::nanoseconds> wait_out_hold_off(BootTime now);
  // While this replica may not campaign (stepping down, or in the hold-off after), how long to wait.
  std::optional<std::chrono::nanoseconds> wait_before_campaign(BootTime now);
  // The release a step-down waited for, and the start of its hold-off.
  std::chrono::nanoseconds finish_step_down();
  void note_lease_changed_under_us(BootTime now, const char* what);
  bool watch_in_use() const { return watch_up_ && !config_.read_before_renew; }
  std::chrono::nanoseconds on_lease_missing(BootTime now);
  std::chrono::nanoseconds create();
  std::chrono::nanoseconds write(const LeaderRecord& base_record, bool new_term, bool reread_on_conflict);

  // Bookkeeping of what we saw and wrote. `origin` tells an answer to our own create (the one way
  // a Lease object this process has not seen before can hold its record) from everything else.
  enum class Origin { seen, own_update, own_create };
  void observe(const StoredLease& lease, BootTime now, Origin origin = Origin::seen);
  void accept_own_write(const StoredLease& written, const SendTime& sent, bool new_term, Origin origin);
  void lose_leadership(const std::string& reason);
  // The Lease looks free, expired or missing: the start of the time to lead, unless already seen so.
  void note_free_seen(BootTime now) {
    if (!free_seen_at_) free_seen_at_ = now;
  }
  // Timing.
  bool holds_at(BootTime boot_now, WallClockTime wall_now) const;
  std::chrono::milliseconds timeout_for_request() const;
  std::chrono::nanoseconds failure_delay(const ApiError& error, const char* what);
  std::string forbidden_detail(const ApiError& error, const char* what) const;
  static constexpr int kRenewFailuresToReport = 3;
  SendTime send_time() const { return {clock_.boot_now(), clock_.wall_now()}; }

  // "\"name\"", or "nobody" for a free record: for logs.
  static std::string describe_holder(const LeaderRecord& record);
  void set_status(std::string status);
  void publish();

  ElectorConfig config_;
  LeaseStore& store_;
  const Clock& clock_;
  SnapshotBoard& board_;
  std::string lease_;

  // The last record read or written, and when (boot clock) its leader record last changed:
  // others' leases expire at observed_at_ + their leaseDurationSeconds, as in client-go 1.27+.
  std::optional<StoredLease> observed_;
  BootTime observed_at_{};
  // The fast-path renew (one PUT, no GET) is only used while our last write is known current, and
  // a follower skips its read only while the watch keeps its observation current.
  bool need_read_ = true;
  // The watch stream is open: every change of the Lease reaches on_lease_event.
  bool watch_up_ = false;
  // A free Lease that no holder released is not taken before this instant: one that is missing
  // (a 404, a DELETED event), was created again (a new metadata.uid) or was never held (no
  // renewTime: the chart's `spec: {}`, `kubectl replace` of it). Someone may have deleted or reset
  // it under a live leader, who goes on leading until its own renew deadline, so the wait is the
  // longer of our lease duration and the last record's, from when this replica first saw the change.
  std::optional<BootTime> hold_off_until_;
  // What this process knows of the Lease object, kept across a 404: its metadata.uid, whether it
  // was last seen deleted, the newest resourceVersion seen (so a late event from before the 404 is
  // known as old) and the last record's leaseDurationSeconds (the wait above).
  std::string known_uid_;
  bool lease_gone_ = false;
  std::string last_version_;
  std::optional<std::chrono::seconds> last_lease_duration_;
  // The acquireTime of a create whose answer never came: if the first record seen after it is that
  // one, in an object we have not seen, our create made it.
  std::optional<WallTime> unanswered_create_;
  // The terms this process sent, and whether the observed record is one of them (renewed when).
  SentTerms terms_;
  // When to try again: start-up back-off, then client-go's jittered retry.
  Backoff backoff_;
  std::chrono::nanoseconds next_delay_{0};
  Shutdown shutdown_;
  // A step-down under way: the term it ended, when to release, and the hold-off after.
  struct StepDown {
    std::uint64_t term = 0;
    BootTime release_at{};
    std::chrono::nanoseconds hold_off{0};
  };
  std::optional<StepDown> step_down_;
  // After a step-down, no term is started before this instant.
  std::optional<BootTime> campaign_not_before_;
  // set_candidate(): no term is started at all while false.
  bool candidate_ = true;
  std::string not_candidate_because_;
  bool logged_campaign_wait_ = false;

  std::shared_ptr<ElectionMetrics> metrics_;
  // When this replica first saw the Lease free, expired or missing since it last saw a live holder.
  std::optional<BootTime> free_seen_at_;
  NoticeSink notice_sink_;
  std::function<bool()> before_release_;
  std::string holder_address_;
  void notify(ElectionNotice::Kind kind, std::string detail = {}) noexcept;
  // A renewal (its write, or the read it needed) failed: counted, and reported once three in a row did.
  void note_renewal_failure(RenewalResult result, const std::string& what);
  // A renewal lost a conflict while our term was valid; the read that follows tells who wrote.
  bool conflict_while_holding_ = false;
  // Renewals failed in a row (timeouts and errors, not conflicts), for the renew_failing notice.
  int renew_failures_in_a_row_ = 0;

  std::string status_;
  bool announced_leading_ = false;
  std::string last_logged_holder_;
  bool logged_missing_ = false;
  bool logged_hold_off_ = false;
};

}  // namespace le::election
