// GET /metrics on real sidecar processes against the local API server: what a Prometheus scrape
// of every replica reads around a handover, and Prometheus's own checker (promtool, from Debian's
// prometheus package via test/support/promtool) on a leader's and a follower's scrape.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "local_cluster.h"

using namespace std::chrono_literals;
using le::testing::ClusterOptions;
using le::testing::HttpClient;
using le::testing::LocalCluster;
using le::testing::run_command;

namespace {

ClusterOptions options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.leader_answer_timeout = 5s;
  return o;
}

// A replica that was just started may not listen yet (wait_for_leader needs only the leader to
// answer), so a refused connection is retried for a while; any answer but 200 fails at once.
std::string scrape(LocalCluster& cluster, std::size_t index) {
  HttpClient http;
  const auto url = "http://127.0.0.1:" + std::to_string(cluster.http_port(index)) + "/metrics";
  const auto until = std::chrono::steady_clock::now() + 10s;
  auto answer = http.get(url, 5s);
  while (answer.status == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
    answer = http.get(url, 5s);
  }
  REQUIRE_MESSAGE(answer.status == 200, "replica " << index << ": " << answer.status << " " << answer.error);
  return answer.body;
}

// The value of the one sample of `metric` (exact name, any labels); nullopt when absent.
std::optional<double> value_of(const std::string& text, const std::string& metric) {
  const std::regex line("^" + metric + R"((\{[^}]*\})? (\S+)$)", std::regex::multiline);
  std::smatch match;
  if (!std::regex_search(text, match, line)) return std::nullopt;
  return std::stod(match[2]);
}

void promtool_check(LocalCluster& cluster, const std::string& text, const std::string& what) {
  const auto path = cluster.work_dir() + "/scrape-" + what + ".txt";
  std::ofstream(path) << text;
  const auto result =
      run_command({"/bin/sh", "-c", std::string(PROMTOOL) + " check metrics < '" + path + "'"}, 120s);
  INFO("promtool on the " << what << "'s scrape: " << result.output);
  CHECK(result.status == 0);
}

}  // namespace

TEST_CASE("metrics: one replica reports master status 1, the others 0, and promtool accepts both") {
  LocalCluster cluster(options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  for (std::size_t i = 0; i < 3; ++i) cluster.start_sidecar(i);
  const auto elected = cluster.wait_for_leader(20s);
  REQUIRE(elected);
  const auto leader = elected->first;
  const auto follower = (leader + 1) % 3;

  // A follower may not have seen the new record yet; master status is computed at scrape time
  // from each replica's own snapshot, so the sum is what matters and must be exactly 1.
  double sum = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto text = scrape(cluster, i);
    const auto status = value_of(text, "leader_election_master_status");
    REQUIRE(status);
    CHECK(*status == (i == leader ? 1 : 0));
    sum += *status;
  }
  CHECK(sum == 1);

  const auto leader_text = scrape(cluster, leader);
  CHECK(value_of(leader_text, "lease_elector_term_remaining_seconds").value_or(0) > 0);
  CHECK(value_of(leader_text, "process_resident_memory_bytes").value_or(0) > 0);
  promtool_check(cluster, leader_text, "leader");
  promtool_check(cluster, scrape(cluster, follower), "follower");

  // A handover: the old leader's scrape says 0 as soon as it steps down, the new one's 1.
  cluster.sidecar(leader).signal(SIGTERM);
  const auto next = cluster.wait_for_leader(20s, leader);
  REQUIRE(next);
  const auto new_leader_text = scrape(cluster, next->first);
  CHECK(value_of(new_leader_text, "leader_election_master_status") == 1);
  // The counters moved: this term was started and timed from the release seen to leading, and its
  // requests reached the API server's counts.
  CHECK(value_of(new_leader_text, "lease_elector_terms_started_total") == 1);
  CHECK(value_of(new_leader_text, "lease_elector_time_to_lead_seconds_count") == 1);
  CHECK(value_of(new_leader_text, R"(rest_client_requests_total\{code="200",host="[^"]+",method="PUT"\})")
            .value_or(0) >= 1);
  promtool_check(cluster, new_leader_text, "new leader");
}

// The Events `kubectl describe lease` and `kubectl describe pod` list: found by the object's uid,
// with client-go's type, reason and message.
TEST_CASE("events: became leader and stopped leading on the Lease and the Pod, found by their uid") {
  auto o = options();
  o.pod_env = true;
  LocalCluster cluster(o);
  cluster.create_lease(LocalCluster::released_lease_spec());
  for (std::size_t i = 0; i < 2; ++i) cluster.start_sidecar(i);
  const auto elected = cluster.wait_for_leader(20s);
  REQUIRE(elected);
  const auto leader = elected->first;
  const std::string lease_uid = cluster.read_lease()["metadata"]["uid"];
  cluster.sidecar(leader).signal(SIGTERM);
  REQUIRE(cluster.sidecar(leader).wait_for(30s));
  const auto next = cluster.wait_for_leader(20s, leader);
  REQUIRE(next);

  // As kubectl describe asks for them (its field selector); the new leader's Event may take a moment.
  const auto events_of = [&](const std::string& kind, const std::string& name, const std::string& uid) {
    const auto answer = cluster.api_request(
        "GET", "/api/v1/namespaces/default/events?fieldSelector=" +
                   le::testing::query_escape("involvedObject.kind=" + kind + ",involvedObject.name=" + name +
                                             ",involvedObject.namespace=default,involvedObject.uid=" + uid));
    REQUIRE_MESSAGE(answer.status == 200, answer.body);
    std::vector<std::string> messages;
    const auto list = nlohmann::json::parse(answer.body);
    for (const auto& e : list["items"]) {
      CHECK(e["type"] == "Normal");
      CHECK(e["reason"] == "LeaderElection");
      CHECK(e["count"] == 1);
      CHECK(e["source"]["component"] == "lease-elector");
      messages.push_back(e["message"].get<std::string>());
    }
    return messages;
  };
  const auto contains = [](const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  const std::string old_id = cluster.identity(leader), new_id = cluster.identity(next->first);
  std::vector<std::string> on_lease;
  const auto until = std::chrono::steady_clock::now() + 10s;
  do {
    on_lease = events_of("Lease", "demo", lease_uid);
    if (contains(on_lease, new_id + " became leader")) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < until);
  CHECK(contains(on_lease, old_id + " became leader"));
  CHECK(contains(on_lease, old_id + " stopped leading"));
  CHECK(contains(on_lease, new_id + " became leader"));
  const auto on_old_pod = events_of("Pod", old_id, LocalCluster::pod_uid(leader));
  CHECK(on_old_pod == std::vector<std::string>{old_id + " became leader", old_id + " stopped leading"});
  // Another uid is another object: nothing.
  CHECK(events_of("Lease", "demo", "another-uid").empty());
}
