#pragma once
// What the election counts for /metrics: written on the election thread, read by scrapes, lock-free
// (util/metrics_types.h). The gauges (leading, time left, since when) are not here: a scrape computes
// them from the published snapshot at its own instant, as /leader does.
#include <string_view>

#include "util/metrics_text.h"
#include "util/metrics_types.h"

namespace le::election {

enum class RenewalResult { success, conflict, error, timeout };

struct ElectionMetrics {
  // client-go's leader_election_slowpath_total: renewals by the holder that needed a read first
  // (the optimistic update failed, the record looked expired, or --takeover poll reads every time).
  util::Counter slowpath;
  // Terms this replica started: an update that took a free or expired Lease, or a create.
  util::Counter terms_started;
  // The holder's renewal updates, by how they ended. A conflict means someone else wrote the Lease:
  // this replica stepped down at that instant.
  util::Counter renewals[4];
  // From the moment this replica saw the Lease free, expired or missing to the moment it began to
  // lead (a create leads only a renew deadline after its answer, and that wait is included).
  util::Histogram time_to_lead{
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60}};

  void count_renewal(RenewalResult result) { renewals[static_cast<int>(result)].add(); }
  // Appends the families above; `lease_name` is the Lease's name without its namespace.
  void write(util::MetricsText& out, std::string_view lease_name) const;
};

}  // namespace le::election
