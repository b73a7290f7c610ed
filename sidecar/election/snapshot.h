#pragma once
// What the election publishes for everyone else (the HTTP endpoints, later metrics and routing):
// an immutable value, replaced whole after every change. Whether this replica leads is never
// stored here as a flag; it is computed from the deadlines at the moment someone asks, so a
// paused or stuck election loop cannot leave a stale "true" behind.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "election/clock.h"
#include "election/leader_record.h"
#include "election/leadership.h"

namespace le::election {

struct ElectionSnapshot {
  std::string identity;
  std::string lease;  // "namespace/name"

  // The last record observed (read, or written by us); nullopt before the first answer and
  // while the Lease does not exist.
  std::optional<LeaderRecord> observed;
  // The observed record was written by this process (not merely under this identity).
  bool record_is_ours = false;
  // Send times of the last successful write of our record, on both clocks; set only while the
  // record is ours. Leadership lasts until renew_deadline after them.
  std::optional<BootTime> renew_sent_boot;
  std::optional<WallClockTime> renew_sent_wall;
  std::chrono::nanoseconds renew_deadline{0};
  // Which of this process's terms the record is: a number this process gave the acquire it sent
  // (1 for its first, never reused), 0 while the record is not ours. A consumer that acts for a term
  // (the controller's marks) must check, before each write, that the term it acts for is still this
  // one: a whole other leader's term can pass between two snapshots it reads.
  std::uint64_t term = 0;
  // The fencing token of that term (SentTerms::Term::fencing_token): a decimal resourceVersion,
  // fixed for the term; "" while the record is not ours.
  std::string fencing_token;
  // After creating the Lease, leadership starts only at this instant (see Elector::create).
  std::optional<BootTime> leading_not_before;
  // Set once shutdown begins: from then on this replica never reports leadership.
  bool stopping = false;
  // Set from a step-down (POST /step-down, SIGUSR1, a failing app) until the term it ended is
  // released: this term is no longer reported as leadership, though the Lease is still renewed.
  bool stepping_down = false;

  // Liveness: the election loop promised to finish its next iteration before this instant.
  BootTime alive_until{};
  // A short human-readable state for logs and /leader ("leading", "following", "waiting for
  // the API server: ..." and so on).
  std::string status;

  // How much longer this replica counts itself leader unless it renews first; nullopt when it
  // does not lead. Both clocks must agree: the wall clock can only shorten it.
  std::optional<std::chrono::nanoseconds> valid_for(BootTime boot_now, WallClockTime wall_now) const {
    if (!record_is_ours) return std::nullopt;
    std::optional<SendTime> renewed;
    if (renew_sent_boot && renew_sent_wall) renewed = SendTime{*renew_sent_boot, *renew_sent_wall};
    return time_leading(renewed, renew_deadline, leading_not_before, leadership_withheld(), boot_now,
                        wall_now);
  }
  // How much longer this replica's term holds by time alone, counting a shutdown under way as holding
  // (the Lease stays ours, and renewed, until the release) but not a step-down. The proxy lets the
  // exchanges a leader began before SIGTERM finish in that time; it resets them before the release
  // (Elector::set_before_release), so they never overlap the next leader's term.
  std::optional<std::chrono::nanoseconds> held_through_shutdown_for(BootTime boot_now,
                                                                    WallClockTime wall_now) const {
    if (!record_is_ours) return std::nullopt;
    std::optional<SendTime> renewed;
    if (renew_sent_boot && renew_sent_wall) renewed = SendTime{*renew_sent_boot, *renew_sent_wall};
    return time_leading(renewed, renew_deadline, leading_not_before, stepping_down, boot_now, wall_now);
  }
  bool is_leader(BootTime boot_now, WallClockTime wall_now) const {
    return valid_for(boot_now, wall_now).has_value();
  }
  bool is_leader(const Clock& clock) const { return is_leader(clock.boot_now(), clock.wall_now()); }
  bool alive(BootTime boot_now) const { return boot_now < alive_until; }
  // Stopping or stepping down: a record this process still holds is not reported as leadership.
  bool leadership_withheld() const { return stopping || stepping_down; }

  // The status as of this instant. `status` is what the election loop last said, and the loop does
  // not publish when leadership begins or ends by time alone (the wait after a create is over, the
  // renew deadline passes): a text about holding is corrected here, as isLeader is computed.
  std::string status_at(BootTime boot_now, WallClockTime wall_now) const {
    if (is_leader(boot_now, wall_now)) return std::string{kStatusLeading};
    if (status != kStatusLeading && status != kStatusHoldingNotLeading) return status;
    if (stopping) return "stopping";
    if (stepping_down) return std::string{kStatusSteppingDown};
    if (record_is_ours && leading_not_before && boot_now < *leading_not_before) {
      return std::string{kStatusHoldingNotLeading};
    }
    return "not leading: the renew deadline passed without a renewal";
  }
  // The next instant at which, with no new snapshot, the answer to "does this replica lead" changes
  // by time alone: the end of the wait after a create, or the end of leadership. nullopt if none.
  std::optional<BootTime> next_change_by_time(BootTime boot_now, WallClockTime wall_now) const {
    if (const auto left = valid_for(boot_now, wall_now)) return boot_now + *left;
    if (record_is_ours && !leadership_withheld() && leading_not_before && boot_now < *leading_not_before) {
      return *leading_not_before;
    }
    return std::nullopt;
  }

  static constexpr std::string_view kStatusLeading = "leading";
  static constexpr std::string_view kStatusHoldingNotLeading = "holding, not yet leading";
  static constexpr std::string_view kStatusSteppingDown = "stepping down";
};

// Where the election loop publishes and readers pick up the current snapshot. Readers never wait
// on the election loop for longer than a pointer copy.
class SnapshotBoard {
 public:
  SnapshotBoard() : current_(std::make_shared<const ElectionSnapshot>()) {}
  void publish(std::shared_ptr<const ElectionSnapshot> snapshot) {
    std::lock_guard lock(mutex_);
    if (stopping_ && !snapshot->stopping) snapshot = with_stopping(*snapshot);
    if (withheld_term_ && snapshot->record_is_ours && snapshot->term == *withheld_term_ &&
        !snapshot->stepping_down) {
      snapshot = with_stepping_down(*snapshot);
    }
    current_ = std::move(snapshot);
    version_.fetch_add(1);
    for (const auto& observer : observers_) observer(*current_);
  }
  std::shared_ptr<const ElectionSnapshot> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // Moves with every change of the current snapshot, in the same critical section and before any
  // observer runs: a reader that keeps a snapshot between looks (the proxy's workers) takes
  // current() again when this has moved. Read it before current(): a snapshot newer than the
  // version read only costs one more look.
  std::uint64_t version() const { return version_.load(); }
  // Shutdown has begun: from now on no snapshot reports leadership. Called from the signal
  // handler, so it takes effect at once even while the election thread waits on the API server.
  // Returns whether this replica reported leadership until this instant, i.e. whether the app may
  // be doing leader work that the release delay must give it time to stop.
  bool mark_stopping(const Clock& clock) {
    std::lock_guard lock(mutex_);
    const bool was_leading = current_->is_leader(clock);
    stopping_ = true;
    if (!current_->stopping) current_ = with_stopping(*current_);
    version_.fetch_add(1);
    for (const auto& observer : observers_) observer(*current_);
    return was_leading;
  }
  // A step-down was asked for (POST /step-down, SIGUSR1, a failing app): if this replica reports
  // leadership at this instant, it stops at once, for the rest of that term, even while the
  // election thread is busy with a request and has not heard of the step-down yet. Returns the term
  // stepped down from (ElectionSnapshot::term), for the election loop to release; nullopt when this
  // replica does not lead, and then nothing changes. Any thread.
  std::optional<std::uint64_t> withhold_leadership(const Clock& clock) {
    std::lock_guard lock(mutex_);
    if (!current_->is_leader(clock)) return std::nullopt;
    // Terms are numbered by this process and never reused: withholding one never touches a later.
    withheld_term_ = current_->term;
    current_ = with_stepping_down(*current_);
    version_.fetch_add(1);
    for (const auto& observer : observers_) observer(*current_);
    return current_->term;
  }
  // Sees every snapshot as it becomes current (the leadership audit log, the HTTP side's waiting
  // clients), under the board's lock so in the order readers saw them; it must be quick. Added
  // before the election starts.
  void add_observer(std::function<void(const ElectionSnapshot&)> observer) {
    std::lock_guard lock(mutex_);
    observers_.push_back(std::move(observer));
  }

 private:
  static std::shared_ptr<const ElectionSnapshot> with_stopping(const ElectionSnapshot& snapshot) {
    auto copy = std::make_shared<ElectionSnapshot>(snapshot);
    copy->stopping = true;
    return copy;
  }
  static std::shared_ptr<const ElectionSnapshot> with_stepping_down(const ElectionSnapshot& snapshot) {
    auto copy = std::make_shared<ElectionSnapshot>(snapshot);
    copy->stepping_down = true;
    return copy;
  }

  mutable std::mutex mutex_;
  std::shared_ptr<const ElectionSnapshot> current_;
  std::atomic<std::uint64_t> version_{1};
  bool stopping_ = false;
  std::optional<std::uint64_t> withheld_term_;
  std::vector<std::function<void(const ElectionSnapshot&)>> observers_;
};

}  // namespace le::election
