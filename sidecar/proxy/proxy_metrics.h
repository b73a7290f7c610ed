#pragma once
// What the proxy counts for /metrics: requests (connections, in TCP mode) by outcome, and how long
// the proxy's part of each took. Written by the workers, read by scrapes, lock-free.
#include <string_view>

#include "util/metrics_text.h"
#include "util/metrics_types.h"

namespace le::proxy {

struct ProxyMetrics {
  // local: sent to this replica's app; forwarded: to the leader's proxy; rejected: answered 503 or
  // 307 here (no leader, a follower in reject or redirect mode, a term that ended); failed: the app
  // or the leader's proxy could not be reached or broke off.
  enum Outcome { local, forwarded, rejected, failed, kOutcomes };
  util::Counter requests[kOutcomes];
  // From the request's header read to the response's last byte written.
  util::Histogram duration{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  util::Counter resets;  // exchanges reset because their term ended

  void write(util::MetricsText& out, std::string_view lease) const {
    out.family("lease_elector_proxy_requests_total", util::MetricsText::Type::counter,
               "Requests (connections in TCP mode) the proxy took, by outcome: local (to this replica's "
               "app), forwarded (to the leader's proxy), rejected (503 or 307 here), failed (the app or "
               "the leader's proxy unreachable or broke off).");
    constexpr std::string_view names[] = {"local", "forwarded", "rejected", "failed"};
    for (int i = 0; i < kOutcomes; ++i) {
      out.sample("lease_elector_proxy_requests_total", {{"lease", lease}, {"outcome", names[i]}},
                 static_cast<double>(requests[i].value()));
    }
    out.family("lease_elector_proxy_resets_total", util::MetricsText::Type::counter,
               "Exchanges with the app reset because the leadership term they began in ended.");
    out.sample("lease_elector_proxy_resets_total", {{"lease", lease}}, static_cast<double>(resets.value()));
    out.family("lease_elector_proxy_request_duration_seconds", util::MetricsText::Type::histogram,
               "Requests through the proxy, from the request's head read to the response's last byte "
               "written (connections in TCP mode: their whole life).");
    const auto reading = duration.read();
    out.histogram("lease_elector_proxy_request_duration_seconds", {{"lease", lease}}, duration.upper_bounds(),
                  reading.bucket_counts, reading.sum_seconds);
  }
};

}  // namespace le::proxy
