#include "election/sent_terms.h"

namespace le::election {

LeaderRecord SentTerms::start(std::int32_t transitions, std::chrono::seconds lease_duration,
                              WallClockTime now) {
  LeaderRecord record;
  record.holder_identity = identity_;
  record.lease_duration = lease_duration;
  record.acquire_time = record.renew_time = util::to_micro(now);
  record.lease_transitions = transitions;
  terms_.push_back(Term{*record.acquire_time, std::nullopt, ++started_, {}, {}, false});
  if (terms_.size() > kRememberedTerms) terms_.pop_front();
  return record;
}

const SentTerms::Term* SentTerms::find(const LeaderRecord& record) const {
  if (record.holder_identity != identity_ || !record.acquire_time) return nullptr;
  for (const Term& term : terms_) {
    if (term.acquire_time == *record.acquire_time && !term.abandoned) return &term;
  }
  return nullptr;
}

void SentTerms::adopt(const Term* term) {
  if (term) {
    ours_ = true;
    adopted_ = term->number;
    leading_not_before_ = term->leading_not_before;
  } else {
    ours_ = false;
    renewed_.reset();
    leading_not_before_.reset();
  }
}

void SentTerms::abandon(std::uint64_t number) {
  for (Term& term : terms_) {
    if (term.number == number) term.abandoned = true;
  }
  if (ours_ && adopted_ == number) disown();
}

void SentTerms::disown() {
  ours_ = false;
  renewed_.reset();
}

}  // namespace le::election
