// Real sidecar processes with watches: a released Lease is taken long before any poll could, a
// follower costs the API server almost nothing, and watches that expire (410) or break leave the
// election safe and working.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "local_cluster.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;

namespace {

ClusterOptions watch_options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  return o;
}

std::uint64_t count(const nlohmann::json& stats, const std::string& verb) {
  return stats["byVerb"].value(verb, std::uint64_t{0});
}

std::size_t start_and_elect(LocalCluster& cluster, std::size_t replicas) {
  cluster.create_lease(LocalCluster::released_lease_spec());  // free, released: taken at once
  for (std::size_t i = 0; i < replicas; ++i) cluster.start_sidecar(i);
  auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  return first->first;
}

}  // namespace

TEST_CASE("with watches, a released Lease is taken long before the followers' next poll") {
  // Polls 3 to 6.6 s apart: a follower that merely polled would rarely take over within a second,
  // and never three times in a row.
  auto o = watch_options();
  o.lease_duration = "10s";
  o.renew_deadline = "6s";
  o.retry_period = "3s";
  o.release_delay = "0s";
  LocalCluster cluster(o);
  std::size_t leader = start_and_elect(cluster, 3);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    std::this_thread::sleep_for(300ms);  // the followers' watches are up
    cluster.sidecar(leader).signal(SIGTERM);
    auto next = cluster.wait_for_leader(15s, leader);
    REQUIRE(next);
    CHECK(next->second < 1s);
    cluster.sidecar(leader).wait_for(10s);
    cluster.start_sidecar(leader);
    leader = next->first;
  }
  CHECK(cluster.split_brain_sweeps() == 0);
}

TEST_CASE("a watching follower sends no requests while the leader renews, and the leader one per renewal") {
  LocalCluster cluster(watch_options());  // retry period 200 ms
  start_and_elect(cluster, 2);
  std::this_thread::sleep_for(500ms);
  cluster.reset_stats();
  std::this_thread::sleep_for(4s);
  const auto stats = cluster.stats();
  CAPTURE(stats.dump());
  // About 20 renewals: one PUT each and no GET, from the leader; nothing but its open watch from
  // the follower (a reconnect at most).
  CHECK(count(stats, "update leases") >= 10);
  CHECK(count(stats, "update leases") <= 25);
  CHECK(count(stats, "get leases") == 0);
  CHECK(count(stats, "watch leases") <= 2);
  CHECK(cluster.split_brain_sweeps() == 0);
}

TEST_CASE("client-go v0.20 polling mode: the leader reads before every renewal, followers poll") {
  auto o = watch_options();
  o.extra_sidecar_flags = {"--takeover", "poll"};
  LocalCluster cluster(o);
  start_and_elect(cluster, 2);
  std::this_thread::sleep_for(500ms);
  cluster.reset_stats();
  std::this_thread::sleep_for(4s);
  const auto stats = cluster.stats();
  CAPTURE(stats.dump());
  CHECK(count(stats, "watch leases") == 0);
  // The leader's ~20 GET + PUT, and the follower's polls every 200-440 ms.
  CHECK(count(stats, "get leases") >= count(stats, "update leases") + 5);
}

TEST_CASE(
    "watches that keep expiring (a one-event watch window) or dropping: still one leader, still handing "
    "over") {
  auto o = watch_options();
  o.extra_apiserver_flags = {"--watch-window", "1"};
  o.release_delay = "0s";
  LocalCluster cluster(o);
  std::size_t leader = start_and_elect(cluster, 3);
  // A tenth of all requests, watch requests included, are dropped unanswered.
  cluster.set_faults({{"dropRate", 0.1}});
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(1s);
    cluster.sidecar(leader).signal(SIGTERM);
    auto next = cluster.wait_for_leader(15s, leader);
    REQUIRE(next);
    cluster.sidecar(leader).wait_for(10s);
    cluster.start_sidecar(leader);
    leader = next->first;
  }
  cluster.set_faults({{"dropRate", 0.0}});
  std::this_thread::sleep_for(1s);
  CHECK(cluster.leaders().size() == 1);
  CHECK(cluster.split_brain_sweeps() == 0);
}
