#pragma once
// "Never two leaders", judged as the chaos suite judges it (test/chaos/checker.h): from the terms
// every sidecar logs on CLOCK_BOOTTIME, which must not overlap. Asking each /leader in turn, sweep
// after sweep, misses any overlap shorter than a sweep, and can see a clean hand-over between two
// answers of one sweep as two leaders.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checker.h"
#include "leadership_terms.h"
#include "local_cluster.h"

namespace le::testing {

// The chaos checker's verdict on these terms alone (no /leader samples).
inline le::chaos::Report judge_terms(const std::vector<LoggedTerm>& logged) {
  le::chaos::History history;
  for (const auto& t : logged)
    history.terms.push_back({static_cast<int>(t.replica), t.start_boot_ns, t.end_boot_ns});
  return le::chaos::check(std::move(history), {});
}

// Every sidecar started so far, every incarnation: no two replicas' terms overlap. At least
// `min_terms` terms must have been logged, or the verdict would rest on nothing (the sidecars run
// at debug level, see LocalCluster::start_sidecar).
inline void check_never_two_leaders(const LocalCluster& cluster, std::size_t min_terms) {
  const auto terms = cluster.leadership_terms();
  std::string listing;
  for (const auto& t : terms) {
    listing += "replica-" + std::to_string(t.replica) + " [" + std::to_string(t.start_boot_ns) + ", " +
               std::to_string(t.end_boot_ns) + "]\n";
  }
  INFO("leadership terms logged (CLOCK_BOOTTIME ns):\n" << listing);
  CHECK(terms.size() >= min_terms);
  const auto report = judge_terms(terms);
  std::string details;
  for (const auto& detail : report.details) details += detail + "\n";
  CHECK_MESSAGE(report.term_overlaps == 0, details);
}

}  // namespace le::testing
