#pragma once
// What the API client counts for /metrics, under client-go's names where client-go has one
// (k8s.io/component-base/metrics/prometheus/restclient), so dashboards built for client-go read it:
// rest_client_requests_total{code,method,host} (code "<error>" when no answer came) and
// rest_client_request_duration_seconds{verb,host}. Plus the watch's restarts and the API server's
// clock offset. Shared by every CurlTransport of the process (each thread has its own), written
// and read lock-free.
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/metrics_text.h"
#include "util/metrics_types.h"

namespace le::kube {

enum class WatchRestart { timeout, expired, error };

class ApiMetrics {
 public:
  // `host` is the API server's host:port, the `host` label.
  explicit ApiMetrics(std::string host);

  // One request's end: its HTTP status, or 0 when none came (timeout, network failure). A
  // watch counts when it opens; `duration` is nullopt for it (a stream's length is no latency).
  void count_request(std::string_view method, int status, std::optional<std::chrono::nanoseconds> duration);
  // The Date header of an answer and the wall-clock times the request was sent and its answer came.
  void observe_server_date(std::string_view date_header, std::chrono::system_clock::time_point sent,
                           std::chrono::system_clock::time_point received);
  void count_watch_restart(WatchRestart reason) { watch_restarts_[static_cast<int>(reason)].add(); }

  std::optional<double> clock_offset_seconds() const { return clock_offset_.value(); }
  void write(util::MetricsText& out, std::string_view lease_name) const;

 private:
  // The verbs the sidecar sends, and a slot for any other.
  static constexpr std::array<std::string_view, 6> kMethods = {"GET",   "POST",   "PUT",
                                                               "PATCH", "DELETE", "other"};
  static std::size_t method_index(std::string_view method);
  // Per method: slot 0 for "<error>", then one per status 100..599 (a fixed table: no lock, no
  // allocation on the request path; 3,006 counters, 24 KiB).
  static constexpr int kFirstStatus = 100, kLastStatus = 599;
  static constexpr std::size_t kSlots = kLastStatus - kFirstStatus + 2;

  std::string host_;
  std::array<std::array<util::Counter, kSlots>, kMethods.size()> requests_;
  std::array<util::Histogram, kMethods.size()> durations_;
  util::OptionalGauge clock_offset_;
  util::Counter watch_restarts_[3];
};

// An HTTP date (RFC 9110's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", which Go's net/http sends)
// as a time; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

// The host:port of a URL ("https://10.0.0.1:6443/" → "10.0.0.1:6443").
std::string url_host(std::string_view url);

}  // namespace le::kube
