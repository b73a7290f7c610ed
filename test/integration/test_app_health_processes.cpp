// Candidacy that follows the app's health (--app-health-url) with real sidecar processes, each
// beside an app double whose /healthz the test turns bad and good: a leader whose app fails steps
// down and another replica leads; with every app unhealthy nobody leads (and /metrics says why);
// an app that recovers brings its replica back into the running. Split brain: the sidecars'
// leadership logs must never overlap (check_never_two_leaders).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app_double.h"
#include "local_cluster.h"
#include "never_two_leaders.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::AppDouble;
using le::testing::boot_now_ns;
using le::testing::check_never_two_leaders;
using le::testing::ClusterOptions;
using le::testing::first_term_after;
using le::testing::LocalCluster;

namespace {

ClusterOptions options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.leader_answer_timeout = 5s;
  return o;
}

bool metric_is(le::testing::HttpClient& http, int port, const std::string& line) {
  const auto answer = http.get("http://127.0.0.1:" + std::to_string(port) + "/metrics", 5s);
  return answer.status == 200 && answer.body.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("a failing app moves leadership, all failing means no leader, a recovered app leads again") {
  LocalCluster cluster(options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  std::vector<std::unique_ptr<AppDouble>> apps;
  for (std::size_t i = 0; i < 3; ++i) {
    apps.push_back(std::make_unique<AppDouble>());
    cluster.start_sidecar(i, {"--app-health-url", apps[i]->url(), "--app-health-period", "100ms",
                              "--app-health-timeout", "100ms", "--app-health-failure-threshold", "2",
                              "--step-down-delay", "300ms", "--step-down-holdoff", "2s"});
  }
  const auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  const std::size_t a = first->first;

  // 1. A's app fails: within two checks A steps down, and after the step-down delay another
  //    replica leads.
  const auto failed_at = boot_now_ns();
  apps[a]->answer(503);
  const auto second = cluster.wait_for_leader(10s, a);
  REQUIRE(second);
  const std::size_t b = second->first;
  const auto b_term = first_term_after(cluster.leadership_terms(), failed_at, a);
  REQUIRE(b_term);
  MESSAGE("app failed to the next term: " << (b_term->start_boot_ns - failed_at) / 1'000'000
                                          << " ms (2 checks 100 ms apart, then the 300 ms step-down delay)");
  CHECK(b_term->start_boot_ns - failed_at < duration_cast<nanoseconds>(5s).count());
  CHECK(cluster.sidecar(a).log().find("the app is unhealthy: stepped down") != std::string::npos);

  // 2. Every app fails: the leader steps down, nobody campaigns, nobody leads.
  for (auto& app : apps) app->answer(503);
  for (const auto until = steady_clock::now() + 10s;
       !cluster.leaders().empty() && steady_clock::now() < until;) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(cluster.leaders().empty());
  std::this_thread::sleep_for(2500ms);  // past every hold-off: still nobody, since nobody is healthy
  CHECK(cluster.leaders().empty());
  le::testing::HttpClient http;
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(metric_is(http, cluster.http_port(i), "lease_elector_app_healthy{lease=\"demo\"} 0"));
    CHECK(metric_is(http, cluster.http_port(i), "leader_election_master_status{name=\"demo\"} 0"));
    CHECK(cluster.leader_view(i)
              .body.value("status", "")
              .starts_with("not campaigning: the app's health check fails"));
  }

  // 3. A's app recovers: A campaigns again and leads (its hold-off is long over).
  apps[a]->answer(200);
  const auto third = cluster.wait_for_leader(10s);
  REQUIRE(third);
  CHECK(third->first == a);
  CHECK(metric_is(http, cluster.http_port(a), "lease_elector_app_healthy{lease=\"demo\"} 1"));
  CHECK(b != a);
  check_never_two_leaders(cluster, 3);
}

TEST_CASE("an app that hangs is as unhealthy as one that answers 5xx") {
  LocalCluster cluster(options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  std::vector<std::unique_ptr<AppDouble>> apps;
  for (std::size_t i = 0; i < 2; ++i) {
    apps.push_back(std::make_unique<AppDouble>());
    cluster.start_sidecar(
        i, {"--app-health-url", apps[i]->url(), "--app-health-period", "100ms", "--app-health-timeout",
            "100ms", "--app-health-failure-threshold", "2", "--step-down-delay", "300ms"});
  }
  const auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  apps[first->first]->hang();
  const auto second = cluster.wait_for_leader(10s, first->first);
  REQUIRE(second);
  CHECK(cluster.sidecar(first->first).log().find("no answer within 100ms") != std::string::npos);
  check_never_two_leaders(cluster, 2);
}
