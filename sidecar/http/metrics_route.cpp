#include "http/metrics_route.h"

#include <chrono>
#include <optional>
#include <utility>

#include "util/metrics_text.h"

namespace le::http {
namespace {

using util::MetricLabels;
using util::MetricsText;
using Type = MetricsText::Type;

double seconds(std::chrono::nanoseconds duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

std::string render_metrics(const election::ElectionSnapshot& snapshot, election::BootTime boot_now,
                           election::WallClockTime wall_now, const MetricsSources& sources) {
  // One reading of both clocks for every figure, as /leader does: leading and the time left can
  // never disagree within a scrape.
  const auto valid_for = snapshot.valid_for(boot_now, wall_now);
  const bool leading = valid_for.has_value();
  const MetricLabels name{{"name", sources.lease_name}};
  const MetricLabels lease{{"lease", sources.lease_name}};
  MetricsText out;

  // client-go's (k8s.io/component-base/metrics/prometheus/clientgo/leaderelection), so dashboards
  // and alerts written for client-go electors read ours too.
  out.family(
      "leader_election_master_status", Type::gauge,
      "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates "
      "master. 'name' is the string used to identify the lease. Please make sure to group by name.");
  out.sample("leader_election_master_status", name, leading ? 1 : 0);

  out.family("lease_elector_leader", Type::gauge, "1 while this replica leads the Lease, else 0.");
  out.sample("lease_elector_leader", lease, leading ? 1 : 0);
  out.family(
      "lease_elector_term_remaining_seconds", Type::gauge,
      "How much longer this replica counts itself leader unless it renews first (validForMs of /leader); "
      "0 when it does not lead.");
  out.sample("lease_elector_term_remaining_seconds", lease, leading ? seconds(*valid_for) : 0);
  if (leading && snapshot.observed && snapshot.observed->acquire_time) {
    out.family("lease_elector_leading_since_timestamp_seconds", Type::gauge,
               "When this replica's current term began (the Lease's acquireTime), in seconds since the Unix "
               "epoch; absent when it does not lead.");
    out.sample("lease_elector_leading_since_timestamp_seconds", lease,
               seconds(snapshot.observed->acquire_time->time_since_epoch()));
  }
  if (snapshot.observed) {
    out.family(
        "lease_elector_lease_transitions", Type::gauge,
        "The Lease's leaseTransitions as this replica last saw it: it grows by one per change of holder "
        "(use delta() or changes(), it restarts when the Lease is created again).");
    out.sample("lease_elector_lease_transitions", lease,
               static_cast<double>(snapshot.observed->lease_transitions));
  }
  out.family("lease_elector_build_info", Type::gauge, "Always 1; the version of lease-elector in its label.");
  out.sample("lease_elector_build_info", {{"version", sources.version}}, 1);

  for (const auto& collect : sources.collectors) collect(out);

  // The names client_golang's process collector uses, which every Prometheus setup knows.
  const auto stats = sources.process_stats ? sources.process_stats() : util::ProcessStats{};
  const auto process = [&out](std::string_view metric, Type type, std::string_view help,
                              std::optional<double> value) {
    if (!value) return;
    out.family(metric, type, help);
    out.sample(metric, *value);
  };
  process("process_cpu_seconds_total", Type::counter, "Total user and system CPU time spent in seconds.",
          stats.cpu_seconds);
  process("process_resident_memory_bytes", Type::gauge, "Resident memory size in bytes.",
          stats.resident_bytes);
  process("process_virtual_memory_bytes", Type::gauge, "Virtual memory size in bytes.", stats.virtual_bytes);
  process("process_start_time_seconds", Type::gauge, "Start time of the process since unix epoch in seconds.",
          stats.start_time_seconds);
  process("process_open_fds", Type::gauge, "Number of open file descriptors.", stats.open_fds);
  process("process_max_fds", Type::gauge, "Maximum number of open file descriptors.", stats.max_fds);
  return out.text();
}

void add_metrics_route(RouteTable& routes, const election::SnapshotBoard& board, const election::Clock& clock,
                       MetricsSources sources) {
  routes.get("/metrics", [&board, &clock, sources = std::move(sources)](const Request&) {
    const auto snapshot = board.current();
    Response response;
    response.content_type = std::string(util::kMetricsContentType);
    response.body = render_metrics(*snapshot, clock.boot_now(), clock.wall_now(), sources);
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  });
}

}  // namespace le::http
