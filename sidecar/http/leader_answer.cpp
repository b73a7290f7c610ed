#include "http/leader_answer.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace le::http {

using nlohmann::json;

LeaderAnswer answer_at(std::shared_ptr<const election::ElectionSnapshot> snapshot,
                       election::BootTime boot_now, election::WallClockTime wall_now) {
  LeaderAnswer answer;
  answer.boot_now = boot_now;
  answer.wall_now = wall_now;
  answer.valid_for = snapshot->valid_for(boot_now, wall_now);
  answer.status = snapshot->status_at(boot_now, wall_now);
  answer.next_change_by_time = snapshot->next_change_by_time(boot_now, wall_now);
  answer.snapshot = std::move(snapshot);
  return answer;
}

AnswerKey LeaderAnswer::key() const {
  AnswerKey key;
  key.is_leader = leading();
  if (snapshot->observed) {
    key.name = snapshot->observed->holder_identity;
    key.lease_transitions = snapshot->observed->lease_transitions;
    key.acquire_time = snapshot->observed->acquire_time;
  }
  // The token belongs to the term, and is news only to the leader of it.
  if (leading()) key.fencing_token = snapshot->fencing_token;
  key.status = status;
  return key;
}

json leader_body(const LeaderAnswer& answer, std::uint64_t index) {
  const auto& snapshot = *answer.snapshot;
  json body{
      {"name", snapshot.observed ? snapshot.observed->holder_identity : std::string{}},
      {"isLeader", answer.leading()},
      {"identity", snapshot.identity},
      {"lease", snapshot.lease},
      {"leaseTransitions", snapshot.observed ? snapshot.observed->lease_transitions : 0},
      {"status", answer.status},
      {"index", index},
  };
  if (snapshot.observed) {
    if (snapshot.observed->acquire_time)
      body["acquireTime"] = util::format_micro_time(*snapshot.observed->acquire_time);
    if (snapshot.observed->renew_time)
      body["renewTime"] = util::format_micro_time(*snapshot.observed->renew_time);
  }
  if (answer.valid_for) {
    // Floor, so the app never believes in a millisecond it does not have.
    body["validForMs"] = std::chrono::floor<std::chrono::milliseconds>(*answer.valid_for).count();
    body["validUntil"] = util::format_micro_time(
        util::to_micro(std::chrono::time_point_cast<std::chrono::system_clock::duration>(answer.wall_now +
                                                                                         *answer.valid_for)));
    // The same end on CLOCK_BOOTTIME, which the app in this Pod reads from the same kernel: a
    // deadline that holds however late the answer is read (a long poll, a buffered event).
    body["validUntilBoottimeNs"] = (answer.boot_now + *answer.valid_for).time_since_epoch().count();
    if (!snapshot.fencing_token.empty()) body["fencingToken"] = snapshot.fencing_token;
  }
  return body;
}

}  // namespace le::http
