#pragma once
// What the HTTP tests read: a clock whose two readings are set by hand, each on its own, and the
// snapshots of a leader and a follower that the routes render (/leader, /metrics).
#include <chrono>

#include "election/clock.h"
#include "election/snapshot.h"
#include "util/micro_time.h"

namespace le::testing {

struct SetClock final : election::Clock {
  election::BootTime boot{};
  election::WallClockTime wall{};
  election::BootTime boot_now() const override { return boot; }
  election::WallClockTime wall_now() const override { return wall; }
};

inline const election::BootTime boot0 = election::BootTime{} + std::chrono::hours{1000};
inline const election::WallClockTime wall0 = election::WallClockTime{} + std::chrono::seconds{1'780'000'000};

// A replica that renewed its own record at (boot0, wall0) with a 10 s renew deadline, in a term
// it began 60 s earlier (Lease default/my-lease, leaseTransitions 3).
inline election::ElectionSnapshot leading_snapshot() {
  using namespace std::chrono_literals;
  election::ElectionSnapshot s;
  s.identity = "pod-a";
  s.lease = "default/my-lease";
  election::LeaderRecord record;
  record.holder_identity = "pod-a";
  record.lease_duration = 15s;
  record.acquire_time = util::to_micro(wall0 - 60s);
  record.renew_time = util::to_micro(wall0);
  record.lease_transitions = 3;
  s.observed = record;
  s.record_is_ours = true;
  s.renew_sent_boot = boot0;
  s.renew_sent_wall = wall0;
  s.renew_deadline = 10s;
  s.alive_until = boot0 + 30s;
  s.status = "leading";
  return s;
}

// The same Lease held by pod-b, as this replica sees it.
inline election::ElectionSnapshot following_snapshot() {
  auto s = leading_snapshot();
  s.observed->holder_identity = "pod-b";
  s.record_is_ours = false;
  s.renew_sent_boot.reset();
  s.renew_sent_wall.reset();
  s.status = "following";
  return s;
}

}  // namespace le::testing
