#pragma once
// The terms this process started, and where it stands in the one the observed record is. A record
// naming our identity is ours only if its acquireTime is one of the terms we sent: a previous
// incarnation under the same name (a restarted container) is treated like any other holder.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "election/clock.h"
#include "election/leader_record.h"
#include "election/leadership.h"

namespace le::election {

class SentTerms {
 public:
  // A term this process started: the acquireTime it sent, answered or not, and for a term started
  // by creating the Lease, when it may start to lead (see Elector::create).
  struct Term {
    WallTime acquire_time;
    std::optional<BootTime> leading_not_before;
    std::uint64_t number = 0;  // ElectionSnapshot::term
    // The metadata.uid of the object the term was written into: the base's for an update (its UID
    // precondition allows no other), the answer's for a create. A copy of the record in any other
    // object (a restored export) is not this term.
    std::string uid;
    // The term's fencing token: the resourceVersion of the first answer that showed this term (the
    // write that started it, or, if that answer was lost, the first read of it). "" until then.
    // etcd's revision is global, so a later term of the Lease, even of a deleted and re-created
    // one, gets a greater token.
    std::string fencing_token;
    // This process stepped down from the term (Elector::step_down): it is never again taken for
    // ours, so a record of it that a failed release left in the Lease is waited out like anyone
    // else's, never renewed or reported as leadership.
    bool abandoned = false;
  };

  // A few recent terms are enough: the record can only carry one of our last attempts, and
  // forgetting an old one only makes us wait it out.
  static constexpr std::size_t kRememberedTerms = 32;

  explicit SentTerms(std::string identity) : identity_(std::move(identity)) {}

  // A new term's record, remembered before it is sent: if the answer is lost but the write
  // applied, the record we read next is still recognised as ours.
  LeaderRecord start(std::int32_t transitions, std::chrono::seconds lease_duration, WallClockTime now);
  // The term start() began last.
  Term& latest() { return terms_.back(); }
  // The term `record` is, if it names us and carries an acquireTime we sent, and we have not
  // abandoned it.
  const Term* find(const LeaderRecord& record) const;
  Term* find(const LeaderRecord& record) { return const_cast<Term*>(std::as_const(*this).find(record)); }

  // The observed record is `term` (ours), or, for nullptr, not ours: then neither its renewal nor
  // its wait after a create counts any more.
  void adopt(const Term* term);
  // The record is no longer ours (released, or the Lease is gone); the renewal no longer counts.
  // The wait after a create stays published until the next record is observed.
  void disown();
  // Never take term `number` for ours again (see Term::abandoned); disowns the observed record
  // if it is that term.
  void abandon(std::uint64_t number);
  // The observed record was written by this process (not merely under this identity).
  bool ours() const { return ours_; }

  // A write of our record, sent at `sent`, succeeded: leadership counts from that send.
  void renewed(const SendTime& sent) { renewed_ = sent; }
  void forget_renewal() { renewed_.reset(); }
  // Send time of the last successful write of our record; present only while the record is ours.
  const std::optional<SendTime>& last_renewal() const { return renewed_; }
  // Set while the record is ours and its term began with a create: we hold it from the create on
  // but lead only from this instant (see Elector::create).
  std::optional<BootTime> leading_not_before() const { return leading_not_before_; }

 private:
  std::string identity_;
  // Terms this process has started, answered or not, oldest first.
  std::deque<Term> terms_;
  std::uint64_t started_ = 0;
  bool ours_ = false;
  std::uint64_t adopted_ = 0;  // the number of the term adopted last
  std::optional<SendTime> renewed_;
  std::optional<BootTime> leading_not_before_;
};

}  // namespace le::election
