// A real Prometheus server (Debian's, via test/support/prometheus) scrapes every second four
// sidecars on the local API server while leadership is handed over three times, and its HTTP API
// is asked what an operator's dashboard would show: sum(leader_election_master_status) is exactly 1
// at every evaluated instant outside the handover windows, never stays above 1 inside them, and
// the Lease's transitions counter moved once per handover.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "local_cluster.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::ChildProcess;
using le::testing::ClusterOptions;
using le::testing::HttpClient;
using le::testing::LocalCluster;

namespace {

constexpr std::size_t kReplicas = 4;
constexpr int kHandovers = 3;
constexpr auto kScrapeInterval = 1s;

double unix_seconds(system_clock::time_point t) { return duration<double>(t.time_since_epoch()).count(); }

class Prometheus {
 public:
  Prometheus(const std::string& dir, const std::vector<int>& sidecar_ports)
      : port_(le::testing::free_loopback_port()) {
    std::ofstream config(dir + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: lease-elector\n    static_configs:\n      - targets: [";
    for (std::size_t i = 0; i < sidecar_ports.size(); ++i)
      config << (i ? ", " : "") << "'127.0.0.1:" << sidecar_ports[i] << "'";
    config << "]\n";
    config.close();
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{PROMETHEUS, "--config.file=" + dir + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir + "/prometheus-data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--log.level=warn"},
        dir + "/prometheus.log");
  }
  ~Prometheus() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      if (!process_->wait_for(10s)) process_->kill_now();
    }
  }
  bool running() { return process_->running(); }
  std::string log() const { return process_->log(); }

  // The API's data for an instant query; null when it does not answer or refuses.
  nlohmann::json query(const std::string& promql) {
    const auto answer = http_.get(base() + "/api/v1/query?query=" + le::testing::query_escape(promql), 5s);
    if (answer.status != 200) return nullptr;
    return nlohmann::json::parse(answer.body)["data"]["result"];
  }
  // [timestamp, value] pairs of the one series a range query returns (an empty list if none).
  std::vector<std::pair<double, double>> range(const std::string& promql, double start, double end,
                                               double step) {
    char times[128];
    std::snprintf(times, sizeof times, "&start=%.3f&end=%.3f&step=%.3f", start, end, step);
    const auto answer =
        http_.get(base() + "/api/v1/query_range?query=" + le::testing::query_escape(promql) + times, 10s);
    REQUIRE_MESSAGE(answer.status == 200, "query_range: " << answer.status << " " << answer.body);
    const auto result = nlohmann::json::parse(answer.body)["data"]["result"];
    std::vector<std::pair<double, double>> points;
    if (result.empty()) return points;
    REQUIRE(result.size() == 1);
    for (const auto& point : result[0]["values"])
      points.emplace_back(point[0].get<double>(), std::stod(point[1].get<std::string>()));
    return points;
  }

 private:
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port_;
  std::unique_ptr<ChildProcess> process_;
  HttpClient http_;
};

// Whether the Prometheus server can run here; if not, says why (ctest reports the test skipped on
// that line): the one case this test skips.
bool prometheus_available() {
  const auto result = le::testing::run_command({PROMETHEUS, "--version"}, 300s);
  if (result.status == 0) return true;
  std::cout << "prometheus test skipped: Debian's prometheus package cannot be installed here: "
            << result.output << std::endl;
  return false;
}

struct Window {
  double from, to;
};

}  // namespace

TEST_CASE("a real Prometheus sees exactly one leader outside handovers, and the transitions") {
  if (!prometheus_available()) return;
  ClusterOptions options;
  options.apiserver_binary = FAKE_APISERVER_BINARY;
  options.sidecar_binary = LEASE_ELECTOR_BINARY;
  options.leader_answer_timeout = 5s;
  LocalCluster cluster(options);
  cluster.create_lease(LocalCluster::released_lease_spec());
  std::vector<int> ports;
  for (std::size_t i = 0; i < kReplicas; ++i) {
    cluster.start_sidecar(i);
    ports.push_back(cluster.http_port(i));
  }
  auto elected = cluster.wait_for_leader(20s);
  REQUIRE(elected);

  Prometheus prometheus(cluster.work_dir(), ports);
  // Every target scraped at least twice before anything is measured.
  const auto until = steady_clock::now() + 60s;
  bool ready = false;
  while (!ready && steady_clock::now() < until) {
    REQUIRE_MESSAGE(prometheus.running(), "prometheus exited: " << prometheus.log());
    const auto scraped = prometheus.query("count(count_over_time(up{job=\"lease-elector\"}[1m]) >= 2)");
    ready = scraped.is_array() && scraped.size() == 1 &&
            std::stod(scraped[0]["value"][1].get<std::string>()) == static_cast<double>(kReplicas);
    if (!ready) std::this_thread::sleep_for(200ms);
  }
  REQUIRE_MESSAGE(ready, "prometheus did not scrape all " << kReplicas << " sidecars: " << prometheus.log());
  std::this_thread::sleep_for(2s);
  const double start = unix_seconds(system_clock::now());

  // A handover window runs from the old leader's stop to the moment the new one was seen leading
  // plus two scrape intervals (each target is scraped at its own instant in the interval).
  std::vector<Window> windows;
  std::size_t leader = elected->first;
  for (int handover = 0; handover < kHandovers; ++handover) {
    const double stopped = unix_seconds(system_clock::now());
    cluster.sidecar(leader).signal(SIGTERM);
    const auto next = cluster.wait_for_leader(20s, leader);
    REQUIRE_MESSAGE(next, "handover " << handover << ": no new leader");
    const double seen = unix_seconds(system_clock::now());
    windows.push_back({stopped, seen + 2 * duration<double>(kScrapeInterval).count()});
    leader = next->first;
    std::this_thread::sleep_for(6s);  // several scrapes of a steady state between handovers
  }
  const double end = unix_seconds(system_clock::now());
  std::this_thread::sleep_for(2s);  // the last samples reach the TSDB

  // Every quarter second, as a dashboard or a rule evaluation would ask.
  constexpr double kStep = 0.25;
  const auto sums = prometheus.range("sum(leader_election_master_status{name=\"demo\"})", start, end, kStep);
  const auto in_window = [&](double t) {
    for (const auto& w : windows)
      if (t >= w.from && t <= w.to) return true;
    return false;
  };
  int outside = 0, above_one_run = 0, longest_above_one = 0;
  std::size_t next_point = 0;
  for (double t = start; t <= end; t += kStep) {
    // The point for instant t, if Prometheus returned one (an instant without a sample is missing).
    while (next_point < sums.size() && sums[next_point].first < t - kStep / 2) ++next_point;
    const bool present = next_point < sums.size() && std::abs(sums[next_point].first - t) < kStep / 2;
    const double value = present ? sums[next_point].second : 0;
    above_one_run = value > 1 ? above_one_run + 1 : 0;
    longest_above_one = std::max(longest_above_one, above_one_run);
    if (in_window(t)) continue;
    ++outside;
    char when[64];
    std::snprintf(when, sizeof when, "at %.3f (%.2f s in)", t, t - start);
    INFO(when);
    CHECK_MESSAGE(present, "no sum at all: no replica scraped");
    if (present) CHECK(value == 1);
  }
  // The steady stretches were really evaluated: about 4 s after each handover's window.
  CHECK(outside >= 40);
  // Above 1 only for a moment: at most two scrape intervals in a row (a handover's overlap).
  CHECK(longest_above_one * kStep <= 2 * duration<double>(kScrapeInterval).count());

  const auto transitions =
      prometheus.range("max(lease_elector_lease_transitions{lease=\"demo\"})", start, end, 1);
  REQUIRE(transitions.size() >= 2);
  CHECK(transitions.back().second - transitions.front().second == kHandovers);
}
