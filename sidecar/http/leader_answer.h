#pragma once
// What /leader answers at one instant, and the index that numbers its versions. Pure: a snapshot
// and one reading of both clocks in, a value out; the long poll, the stream and the plain GET all
// answer with it, so they can never disagree.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "election/clock.h"
#include "election/snapshot.h"
#include "util/micro_time.h"

namespace le::http {

// The fields whose change is news to the app. A renewal changes none of them, so it never wakes a
// long poll or sends an event; the end of leadership by time alone changes isLeader and status.
struct AnswerKey {
  bool is_leader = false;
  std::string name;
  std::int32_t lease_transitions = 0;
  std::optional<util::WallTime> acquire_time;
  std::string fencing_token;
  std::string status;
  bool operator==(const AnswerKey&) const = default;
};

struct LeaderAnswer {
  std::shared_ptr<const election::ElectionSnapshot> snapshot;
  // One reading of both clocks: every field derives from it, so isLeader, validForMs, validUntil
  // and validUntilBoottimeNs can never disagree (two readings could straddle the deadline).
  election::BootTime boot_now{};
  election::WallClockTime wall_now{};
  std::optional<std::chrono::nanoseconds> valid_for;  // set exactly while this replica leads
  std::string status;
  // When the answer changes next by time alone (see ElectionSnapshot::next_change_by_time).
  std::optional<election::BootTime> next_change_by_time;

  bool leading() const { return valid_for.has_value(); }
  AnswerKey key() const;
};

LeaderAnswer answer_at(std::shared_ptr<const election::ElectionSnapshot> snapshot,
                       election::BootTime boot_now, election::WallClockTime wall_now);

// Numbers the versions of the answer: the index changes exactly when the key does. Not
// thread-safe: its owner reads the clocks and calls it under one lock, so that a later reading can
// never be numbered before an earlier one.
class AnswerIndex {
 public:
  std::uint64_t index_for(const AnswerKey& key) {
    if (!last_ || *last_ != key) {
      ++index_;
      last_ = key;
    }
    return index_;
  }

 private:
  std::uint64_t index_ = 0;  // the first answer is 1, so index=0 always means "tell me now"
  std::optional<AnswerKey> last_;
};

// The JSON body of /leader (also each stream event's data and the webhook's body): see the README.
// Its text, compact, its keys in nlohmann::json's (sorted) order.
std::string leader_body_text(const LeaderAnswer& answer, std::uint64_t index);
// The same document as a value (the webhook adds its fields to it).
nlohmann::json leader_body(const LeaderAnswer& answer, std::uint64_t index);

}  // namespace le::http
