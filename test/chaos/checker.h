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
//
// One History is one Lease: its replicas, their samples and terms, and the faults that hit it. A
// run with many Leases checks each on its own and adds the reports up (Report::add); replicas of
// different Leases may well lead at once.
//
// Transitions are counted from the terms (the inside view misses none, while the samples may):
// every term after a Lease's first is one, whether another replica took over or the same one led
// again after its term had run out. Each is blamed on the most recent fault on its Lease that
// began before the term did, or on none when that fault was over for longer than the attribution
// window.
#include <array>
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

// The faults the chaos driver injects, as causes of transitions.
enum class Cause {
  sigterm,            // a SIGTERM handover (the release), answered late
  sigkill,            // the process killed, restarted later
  sigstop,            // the process paused (SIGSTOP), resumed later
  partition,          // the Lease's requests dropped, applied or not
  latency,            // answers slower than the renew deadline
  delete_recreate,    // the Lease deleted and created again with an empty spec (a new uid)
  reset,              // the Lease replaced in place with an empty spec (same uid, holder blanked)
  server_error,       // 5xx answers
  conflict_storm,     // writes answered 409
  token_rotation,     // the bearer token replaced and the old one revoked
  apiserver_restart,  // the API server stopped and started again
  none,               // no fault, or none recent enough
};
inline constexpr std::size_t kCauseCount = static_cast<std::size_t>(Cause::none) + 1;
const char* cause_name(Cause cause);
// The holder stopped renewing, and the others waited for its lease to run out.
bool is_expiry(Cause cause);
// The Lease object was rewritten under its holder; the others hold off for one lease duration.
bool is_lease_rewrite(Cause cause);

// A fault on one Lease (or on all, for the API server's own faults), on CLOCK_BOOTTIME like the
// terms: from its injection to the moment it was undone (its begin, for one that is instant).
struct FaultMark {
  Nanos begin_boot = 0;
  Nanos end_boot = 0;
  Cause cause = Cause::none;
};

struct History {
  std::vector<Sample> samples;
  std::vector<Term> terms;
  // Wall-clock windows in which the API server was faulty or down (plus the recovery allowance
  // the caller chose); availability and the gap bound are judged outside them.
  std::vector<Window> api_unhealthy;
  // Wall-clock windows after the Lease was deleted and re-created or reset in place: a leaderless
  // stretch that begins in one is judged against CheckOptions::holdoff_gap_bound.
  std::vector<Window> holdoff;
  Nanos begin_wall = 0;  // the observed span
  Nanos end_wall = 0;
  std::vector<FaultMark> faults;  // for blaming transitions
  // Terms that start at or after this boot-clock instant (the run's own shutdown) are checked but
  // not counted as transitions; 0 counts every term.
  Nanos end_boot = 0;
};

struct CheckOptions {
  // The longest leaderless gap allowed while the API server is healthy: lease duration + two
  // polling intervals while followers poll; lease duration + a few ms once they watch.
  Nanos gap_bound = 0;
  // The same after a delete/re-create or reset: a replica takes such a Lease only one lease
  // duration after it saw the change (README, Safety), as after an expiry, and one that creates
  // the Lease itself leads only one renew deadline after the create's answer; so gap_bound plus
  // the renew deadline.
  Nanos holdoff_gap_bound = 0;
  // How long after a fault was undone a transition is still blamed on it; 0: for ever.
  Nanos attribution_window = 0;
};

struct Report {
  int transitions = 0;                      // terms after each Lease's first (a new leader, or a new term)
  int leader_changes = 0;                   // of those, the ones where another replica took over
  std::array<int, kCauseCount> by_cause{};  // transitions, by the fault blamed
  int sample_conflicts = 0;                 // outside-view incidents
  int term_overlaps = 0;                    // inside-view incidents
  int bogus_claims = 0;     // a true answer whose validUntil was already past when it was asked
  double availability = 0;  // of healthy time, the fraction some replica led
  Nanos healthy_time = 0;   // what availability is a fraction of
  Nanos led_time = 0;
  Nanos worst_gap = 0;  // the longest leaderless stretch within healthy time (hold-offs apart)
  Nanos gap_bound = 0;
  Nanos worst_holdoff_gap = 0;  // the same for stretches that began in a hold-off
  Nanos holdoff_gap_bound = 0;
  int gaps_over_bound = 0;  // of either kind
  int leases = 0;
  std::vector<std::string> details;  // the first few incidents, for the log

  int split_brains() const { return sample_conflicts + term_overlaps + bogus_claims; }
  int after(Cause cause) const { return by_cause[static_cast<std::size_t>(cause)]; }
  int after_expiry() const;
  int after_lease_rewrite() const;
  // Adds another Lease's report; its details are prefixed with `label`.
  void add(const Report& other, const std::string& label);
  std::string summary_line() const;
};

Report check(History history, const CheckOptions& options);

// What a run must reach to count as a run at scale (issue 10): enough transitions, enough of them
// after an expiry, and enough after the Lease was rewritten under its holder. SIGTERM handovers
// are the easy kind and do not make the numbers on their own.
struct ScaleRule {
  int transitions = 10'000;
  int after_expiry = 3'000;
  int after_lease_rewrite = 300;
};
// Empty when the report meets the rule; else what it lacks, e.g. "after_expiry 2500<3000".
std::string scale_shortfall(const Report& report, const ScaleRule& rule);

}  // namespace le::chaos
