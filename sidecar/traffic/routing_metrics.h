#pragma once
// What routing counts for /metrics: its writes to the API server (fences, marks, unmarks,
// EndpointSlice updates) by result. Written on the traffic thread, read by scrapes, lock-free.
#include <string_view>

#include "util/metrics_text.h"
#include "util/metrics_types.h"
#include "util/result.h"

namespace le::traffic {

struct RoutingMetrics {
  enum Result { success, conflict, forbidden, error, kResults };
  util::Counter writes[kResults];

  static Result result_of(util::ApiErrorKind kind) {
    switch (kind) {
      case util::ApiErrorKind::conflict:
      case util::ApiErrorKind::already_exists:
        return conflict;
      case util::ApiErrorKind::forbidden:
        return forbidden;
      default:
        return error;
    }
  }
  // `mode` is the routing mode's name (the `mode` label).
  void write(util::MetricsText& out, std::string_view mode) const {
    out.family("lease_elector_routing_writes_total", util::MetricsText::Type::counter,
               "Writes the routing mode sent to the API server (fence, mark, unmark, EndpointSlice), by "
               "result: success, conflict (another writer came first; retried), forbidden (the Role "
               "lacks a rule: see the log), error.");
    constexpr std::string_view names[] = {"success", "conflict", "forbidden", "error"};
    for (int i = 0; i < kResults; ++i) {
      out.sample("lease_elector_routing_writes_total", {{"mode", mode}, {"result", names[i]}},
                 static_cast<double>(writes[i].value()));
    }
  }
};

}  // namespace le::traffic
