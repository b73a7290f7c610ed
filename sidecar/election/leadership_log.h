#pragma once
// An audit trail of this replica's leadership terms, in the log: one line each time the term's end
// moves (every successful renewal) or the term ends early (step-down, a lost Lease). Each line
// carries the boot-clock (CLOCK_BOOTTIME) nanoseconds of the term's start (the send time of the
// acquiring write) and of its current end (last successful write's send time + renew deadline, or
// the instant it ended early). CLOCK_BOOTTIME is one clock for every process on the machine, so the
// chaos suite's checker can lay the terms of all replicas side by side and prove they never overlap.
// Opt-in (debug level): a line per renewal is too much for production logs.
#include <mutex>
#include <optional>
#include <string>

#include "election/clock.h"
#include "election/snapshot.h"

namespace le::election {

// What a term looks like from the snapshots; pure, so it is tested without logging.
struct LeadershipTerm {
  BootTime start;
  BootTime valid_until;
};

class LeadershipTracker {
 public:
  // Feeds one published snapshot (taken at boot_now); returns the term to report when it changed.
  std::optional<LeadershipTerm> update(const ElectionSnapshot& snapshot, BootTime boot_now);

 private:
  std::optional<LeadershipTerm> term_;
};

// The audit line's fixed key: the checker finds lines by it, whatever the log format.
inline constexpr const char* kLeadershipLogKey = "leadership-term";
std::string format_leadership_line(const LeadershipTerm& term, bool ended);

// Wires a tracker to a SnapshotBoard and to spdlog (debug level).
class LeadershipLog {
 public:
  explicit LeadershipLog(const Clock& clock) : clock_(clock) {}
  void on_snapshot(const ElectionSnapshot& snapshot);

 private:
  const Clock& clock_;
  std::mutex mutex_;
  LeadershipTracker tracker_;
};

}  // namespace le::election
