#pragma once
// --app-health-url: the sidecar checks its app the way the kubelet's httpGet probe does (a GET,
// 2xx or not, within a timeout, every period) and says when the app turns healthy or unhealthy,
// by thresholds of checks in a row. Probing from the sidecar catches an app that hangs as well as
// one that answers 5xx. The checks run on the HTTP side's io_context; nothing here blocks.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "util/metrics_text.h"

namespace le::http {

// The verdict from checks in a row, as the kubelet's failureThreshold and successThreshold give
// it: unknown until `success_threshold` checks in a row succeed or `failure_threshold` fail.
class HealthTally {
 public:
  HealthTally(int failure_threshold, int success_threshold)
      : failure_threshold_(failure_threshold), success_threshold_(success_threshold) {}
  // Counts one check; returns the new verdict when this check changed it.
  std::optional<bool> record(bool success);
  // nullopt until the first verdict.
  std::optional<bool> healthy() const { return healthy_; }

 private:
  int failure_threshold_;
  int success_threshold_;
  int successes_in_a_row_ = 0;
  int failures_in_a_row_ = 0;
  std::optional<bool> healthy_;
};

struct AppHealthSettings {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
  std::string url;  // for logs
  std::chrono::nanoseconds period{std::chrono::seconds{2}};
  std::chrono::nanoseconds timeout{std::chrono::seconds{1}};
  int failure_threshold = 3;
  int success_threshold = 1;
};

class AppHealthProbe : public std::enable_shared_from_this<AppHealthProbe> {
 public:
  // `on_change(healthy, why)` is called on an io_context thread whenever the verdict changes
  // (the first verdict included); `why` describes the check that decided it. It must return at once.
  using OnChange = std::function<void(bool healthy, const std::string& why)>;
  static std::shared_ptr<AppHealthProbe> create(const boost::asio::any_io_executor& executor,
                                                AppHealthSettings settings, OnChange on_change);
  ~AppHealthProbe();
  AppHealthProbe(const AppHealthProbe&) = delete;
  AppHealthProbe& operator=(const AppHealthProbe&) = delete;

  // The first check at once, then one every period. Any thread.
  void start();
  // Ends the checks: a check under way is cancelled, none follows. Any thread; idempotent.
  void stop();

  // lease_elector_app_healthy and lease_elector_app_health_checks_total, for /metrics.
  void write_metrics(util::MetricsText& out, std::string_view lease_name) const;

 private:
  AppHealthProbe(const boost::asio::any_io_executor& executor, AppHealthSettings settings,
                 OnChange on_change);
  void run_check();
  void on_checked(bool success, const std::string& what, std::chrono::steady_clock::time_point started);

  struct State;
  std::unique_ptr<State> state_;
  // Read by /metrics on any thread: -1 before the first verdict, else 0 or 1.
  std::atomic<int> healthy_{-1};
  std::atomic<std::uint64_t> successes_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace le::http
