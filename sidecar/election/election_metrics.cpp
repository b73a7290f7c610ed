#include "election/election_metrics.h"

namespace le::election {

void ElectionMetrics::write(util::MetricsText& out, std::string_view lease_name) const {
  using Type = util::MetricsText::Type;
  out.family("leader_election_slowpath_total", Type::counter,
             "Total number of slow path exercised in renewing leader leases. 'name' is the string used to "
             "identify the lease. Please make sure to group by name.");
  out.sample("leader_election_slowpath_total", {{"name", lease_name}}, static_cast<double>(slowpath.value()));

  const util::MetricLabels lease{{"lease", lease_name}};
  out.family("lease_elector_terms_started_total", Type::counter,
             "Leadership terms this replica started (took a free or expired Lease, or created it).");
  out.sample("lease_elector_terms_started_total", lease, static_cast<double>(terms_started.value()));

  out.family("lease_elector_renewals_total", Type::counter,
             "The leader's renewals of its Lease by result: success, conflict (someone else wrote the "
             "Lease; this replica stepped down), error, timeout.");
  constexpr std::string_view results[] = {"success", "conflict", "error", "timeout"};
  for (int i = 0; i < 4; ++i) {
    out.sample("lease_elector_renewals_total", {{"lease", lease_name}, {"result", results[i]}},
               static_cast<double>(renewals[i].value()));
  }

  out.family("lease_elector_time_to_lead_seconds", Type::histogram,
             "From seeing the Lease free, expired or missing to leading it, per term this replica began.");
  const auto reading = time_to_lead.read();
  out.histogram("lease_elector_time_to_lead_seconds", lease, time_to_lead.upper_bounds(),
                reading.bucket_counts, reading.sum_seconds);
}

}  // namespace le::election
