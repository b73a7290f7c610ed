#pragma once
// The chaos suite's judge: turns what was observed into intervals and decides whether two replicas
// ever led at once. Pure (no clocks, no I/O), so it is tested with synthetic histories.
//
// Two independent rules, each sufficient to convict:
//  - Outside view: a /leader sample of A (isLeader=true, validUntil V) conflicts with a true
//    sample of another replica B whose request was sent at or after A's and before V. A promised
//    to lead until V; B claimed to lead inside that promise.
//  - Inside view: the terms each replica logs on CLOCK_BOOTTIME, [send time of the acquiring
//    write, last successful renewal's send time + renew deadline], must not overlap.
#include <cstdint>
#include <string>
#include <vector>

namespace le::chaos {

using Nanos = std::int64_t;  // since the epoch of the clock named in each field

struct Sample {
  int replica = 0;
  Nanos sent_wall = 0;      // when the request was sent (system clock)
  Nanos answered_wall = 0;  // when its answer arrived
  bool is_leader = false;
  // validUntil of a true /leader answer; 0 when unknown (a /readyz answer carries none).
  Nanos valid_until_wall = 0;
};

struct Term {
  int replica = 0;
  Nanos start_boot = 0;
  Nanos end_boot = 0;
};

struct Window {
  Nanos begin = 0;
  Nanos end = 0;
};

struct History {
  std::vector<Sample> samples;
  std::vector<Term> terms;
  // Wall-clock windows in which the API server was faulty or down (plus the recovery allowance
  // the caller chose); availability and the gap bound are judged outside them.
  std::vector<Window> api_unhealthy;
  Nanos begin_wall = 0;  // the observed span
  Nanos end_wall = 0;
};

struct CheckOptions {
  // The longest leaderless gap allowed while the API server is healthy: lease duration + two
  // polling intervals while followers poll; lease duration + a few ms once they watch.
  Nanos gap_bound = 0;
};

struct Report {
  int transitions = 0;
  int sample_conflicts = 0;  // outside-view incidents
  int term_overlaps = 0;     // inside-view incidents
  int bogus_claims = 0;      // a true answer whose validUntil was already past when it was asked
  double availability = 0;   // of healthy time, the fraction some replica led
  Nanos worst_gap = 0;       // the longest leaderless stretch within healthy time
  Nanos gap_bound = 0;
  int gaps_over_bound = 0;
  std::vector<std::string> details;  // the first few incidents, for the log

  int split_brains() const { return sample_conflicts + term_overlaps + bogus_claims; }
  std::string summary_line() const;
};

Report check(History history, const CheckOptions& options);

}  // namespace le::chaos
