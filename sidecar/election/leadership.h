#pragma once
// The leadership rule, written once: the elector (holds/is_leader) and every reader of its
// published snapshot (ElectionSnapshot::valid_for) judge "do I lead, and for how long" with these.
#include <algorithm>
#include <chrono>
#include <optional>

#include "election/clock.h"

namespace le::election {

// When a write of this process's record was sent, on both clocks. Leadership is counted from the
// send, never from the answer: the server may have applied the write at any instant in between.
struct SendTime {
  BootTime boot;
  WallClockTime wall;
};

// How much longer this process holds a record whose last successful write was sent at `sent`:
// until renew_deadline after the send. Both clocks must agree: the wall clock can only shorten it
// (a paused VM stops even the boot-time clock). nullopt once it is over on either.
inline std::optional<std::chrono::nanoseconds> time_held(const SendTime& sent,
                                                         std::chrono::nanoseconds renew_deadline,
                                                         BootTime boot_now, WallClockTime wall_now) {
  const auto by_boot = sent.boot + renew_deadline - boot_now;
  const auto by_wall =
      std::chrono::duration_cast<std::chrono::nanoseconds>(sent.wall + renew_deadline - wall_now);
  const auto left = std::min<std::chrono::nanoseconds>(by_boot, by_wall);
  if (left <= std::chrono::nanoseconds::zero()) return std::nullopt;
  return left;
}

// How much longer this process leads: it holds the record (`renewed` is the send time of the last
// successful write of a record that is ours, nullopt while it is not), it is past the wait after
// creating the Lease (`leading_not_before`, see Elector::create), and it is not stopping (from then
// on it never reports leadership). nullopt when it does not lead.
inline std::optional<std::chrono::nanoseconds> time_leading(const std::optional<SendTime>& renewed,
                                                            std::chrono::nanoseconds renew_deadline,
                                                            std::optional<BootTime> leading_not_before,
                                                            bool stopping, BootTime boot_now,
                                                            WallClockTime wall_now) {
  if (stopping || !renewed) return std::nullopt;
  if (leading_not_before && boot_now < *leading_not_before) return std::nullopt;
  return time_held(*renewed, renew_deadline, boot_now, wall_now);
}

}  // namespace le::election
