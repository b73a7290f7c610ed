#pragma once
// GET /metrics: the Prometheus text format, computed at scrape time from the election's published
// snapshot and the process's own figures. A scrape never waits on the API server or the election
// loop (a snapshot is a pointer copy), so it answers even while the API server does not.
#include <functional>
#include <string>
#include <vector>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/route_table.h"
#include "util/metrics_text.h"
#include "util/process_stats.h"

namespace le::http {

struct MetricsSources {
  // The Lease's name (without its namespace): the `name` label of client-go's
  // leader_election_master_status, and the `lease` label of ours.
  std::string lease_name;
  std::string version;
  std::function<util::ProcessStats()> process_stats = util::read_process_stats;
  // The counters of the other parts (election, API client, routing), each appending its families.
  // They read atomics only: a scrape never waits for the part that counts.
  std::vector<std::function<void(util::MetricsText&)>> collectors;
};

// The metrics text for one reading of the clocks and one snapshot (what the route serves).
std::string render_metrics(const election::ElectionSnapshot& snapshot, election::BootTime boot_now,
                           election::WallClockTime wall_now, const MetricsSources& sources);

// Adds GET /metrics to `routes`. `board` and `clock` must outlive the routes.
void add_metrics_route(RouteTable& routes, const election::SnapshotBoard& board, const election::Clock& clock,
                       MetricsSources sources);

}  // namespace le::http
