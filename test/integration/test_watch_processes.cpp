// Real sidecar processes with watches: a released Lease is taken long before any poll could, a
// follower costs the API server almost nothing, and watches that expire (410) or break leave the
// election safe and working. "Never two leaders" is judged from the sidecars' leadership logs.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <thread>
#include <vector>

#include "local_cluster.h"
#include "never_two_leaders.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::boot_now_ns;
using le::testing::check_never_two_leaders;
using le::testing::ClusterOptions;
using le::testing::first_term_after;
using le::testing::LocalCluster;

namespace {

ClusterOptions watch_options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  // A late answer would read as "not leader"; only scheduling delays one, by up to seconds here.
  o.leader_answer_timeout = 5s;
  return o;
}

std::uint64_t count(const nlohmann::json& stats, const std::string& verb) {
  return stats["byVerb"].value(verb, std::uint64_t{0});
}

// With user_per_replica, what one replica sent.
std::uint64_t count(const nlohmann::json& stats, const std::string& user, const std::string& verb) {
  return stats["byUserAndVerb"].value(user + " " + verb, std::uint64_t{0});
}
std::uint64_t requests_by(const nlohmann::json& stats, const std::string& user) {
  return stats["byUser"].value(user, std::uint64_t{0});
}

std::size_t start_and_elect(LocalCluster& cluster, std::size_t replicas) {
  cluster.create_lease(LocalCluster::released_lease_spec());  // free, released: taken at once
  for (std::size_t i = 0; i < replicas; ++i) cluster.start_sidecar(i);
  auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  return first->first;
}

// With user_per_replica: until the API server has had a watch request from each of these replicas
// since its stats were last reset (it counts a watch when the request arrives; any change after
// that reaches the stream).
void wait_for_watches(LocalCluster& cluster, const std::vector<std::size_t>& replicas) {
  const auto until = steady_clock::now() + 10s;
  for (const std::size_t i : replicas) {
    while (count(cluster.stats(), cluster.identity(i), "watch leases") == 0) {
      REQUIRE(steady_clock::now() < until);
      std::this_thread::sleep_for(10ms);
    }
  }
}

// Until `follower`'s /leader names `leader` as the holder.
void wait_until_seen(LocalCluster& cluster, std::size_t follower, std::size_t leader) {
  const auto until = steady_clock::now() + 10s;
  while (cluster.leader_view(follower).name != cluster.identity(leader)) {
    REQUIRE(steady_clock::now() < until);
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace

TEST_CASE("with watches, a released Lease is taken long before the followers' next poll") {
  // Polls 6 to 13.2 s apart: a follower that merely polled would take over within 2 s of a release
  // in about one round in three (two followers), and three rounds in a row about once in twenty.
  auto o = watch_options();
  o.lease_duration = "20s";
  o.renew_deadline = "12s";
  o.retry_period = "6s";
  o.release_delay = "0s";
  o.user_per_replica = true;  // the API server counts each replica's watch apart
  LocalCluster cluster(o);
  std::size_t leader = start_and_elect(cluster, 3);
  wait_for_watches(cluster, {0, 1, 2});
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    // The followers have read the Lease (else a first read, not the watch, could find it released).
    for (std::size_t i = 0; i < 3; ++i) {
      if (i != leader) wait_until_seen(cluster, i, leader);
    }
    const auto signalled = boot_now_ns();
    cluster.sidecar(leader).signal(SIGTERM);
    auto next = cluster.wait_for_leader(15s, leader);
    REQUIRE(next);
    // Timed from the signal to the new term's acquiring write, on the boot clock (its log), so this
    // test's polling of /leader does not count.
    const auto taken = first_term_after(cluster.leadership_terms(), signalled, leader);
    REQUIRE(taken);
    const auto took = duration_cast<milliseconds>(nanoseconds{taken->start_boot_ns - signalled});
    MESSAGE("round " << round << ": taken over " << took.count() << " ms after the signal");
    CHECK(took < 2s);
    cluster.sidecar(leader).wait_for(10s);
    cluster.reset_stats();
    cluster.start_sidecar(leader);
    wait_for_watches(cluster, {leader});  // the other follower's has been up all along
    leader = next->first;
  }
  check_never_two_leaders(cluster, 4);
}

TEST_CASE("a watching follower sends no requests while the leader renews, and the leader one per renewal") {
  auto o = watch_options();  // retry period 200 ms
  // A renew deadline of 4 s: no stall of a loaded machine swaps the roles during the count.
  o.lease_duration = "6s";
  o.renew_deadline = "4s";
  o.user_per_replica = true;  // the API server counts each replica's requests apart
  LocalCluster cluster(o);
  const std::size_t leader = start_and_elect(cluster, 2);
  const std::size_t follower = 1 - leader;
  const std::string leader_user = cluster.identity(leader);
  const std::string follower_user = cluster.identity(follower);
  wait_until_seen(cluster, follower, leader);
  wait_for_watches(cluster, {follower});
  // Counted over a 4 s window. A watch may be re-established (a stream can end; then the follower
  // polls until it is back, and after a 410 it reads): a window in which any watch request came, or
  // in the second of lead-in before it, is set aside and measured again.
  bool measured = false;
  for (int attempt = 0; attempt < 3 && !measured; ++attempt) {
    cluster.reset_stats();
    std::this_thread::sleep_for(1s);
    const auto before = cluster.stats();
    const auto from = steady_clock::now();
    std::this_thread::sleep_for(4s);
    const auto stats = cluster.stats();
    const auto window = steady_clock::now() - from;
    CAPTURE(stats.dump());
    if (count(stats, "watch leases") > 0) {
      MESSAGE("a watch was re-established (" << stats.dump() << "); measuring again");
      continue;
    }
    measured = true;
    // Nothing at all from the follower.
    CHECK(requests_by(stats, follower_user) == requests_by(before, follower_user));
    // One PUT per renewal and no GET from the leader. It renews every 200 ms: at most one per
    // period, and at least one per 800 ms (a stall of up to 3 s of the 4 is allowed for).
    CHECK(count(stats, leader_user, "get leases") == count(before, leader_user, "get leases"));
    const auto renewals =
        count(stats, leader_user, "update leases") - count(before, leader_user, "update leases");
    CHECK(renewals >= static_cast<std::uint64_t>(window / 800ms));
    CHECK(renewals <= static_cast<std::uint64_t>(window / 200ms) + 1);
  }
  CHECK_MESSAGE(measured, "a watch was re-established in every window");
  check_never_two_leaders(cluster, 1);
}

TEST_CASE("client-go v0.20 polling mode: the leader reads before every renewal, followers poll") {
  auto o = watch_options();
  o.extra_sidecar_flags = {"--takeover", "poll"};
  // A renew deadline of 4 s: no stall of a loaded machine swaps the roles during the count.
  o.lease_duration = "6s";
  o.renew_deadline = "4s";
  o.user_per_replica = true;  // the API server counts each replica's requests apart
  LocalCluster cluster(o);
  const std::size_t leader = start_and_elect(cluster, 2);
  const std::size_t follower = 1 - leader;
  const std::string leader_user = cluster.identity(leader);
  const std::string follower_user = cluster.identity(follower);
  wait_until_seen(cluster, follower, leader);
  cluster.reset_stats();
  const auto from = steady_clock::now();
  std::this_thread::sleep_for(4s);
  const auto stats = cluster.stats();
  const auto window = steady_clock::now() - from;
  CAPTURE(stats.dump());
  CHECK(count(stats, "watch leases") == 0);
  // The leader: a GET before every PUT (the window's edges may cut one pair), a renewal at least
  // every 800 ms (a stall of up to 3 s of the 4 is allowed for).
  const auto gets = count(stats, leader_user, "get leases");
  const auto updates = count(stats, leader_user, "update leases");
  CHECK(updates >= static_cast<std::uint64_t>(window / 800ms));
  CHECK(gets + 1 >= updates);
  CHECK(updates + 1 >= gets);
  // The follower: reads only, every 1 to 2.2 retry periods (200 to 440 ms; again with room for a
  // stall).
  CHECK(count(stats, follower_user, "update leases") == 0);
  CHECK(count(stats, follower_user, "get leases") >= static_cast<std::uint64_t>(window / 1760ms));
  check_never_two_leaders(cluster, 1);
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
    std::this_thread::sleep_for(1s);  // the watches expire and drop for a while
    cluster.sidecar(leader).signal(SIGTERM);
    auto next = cluster.wait_for_leader(15s, leader);
    REQUIRE(next);
    cluster.sidecar(leader).wait_for(10s);
    cluster.start_sidecar(leader);
    leader = next->first;
  }
  cluster.set_faults({{"dropRate", 0.0}});
  // A leader still, and never two (every term of every incarnation, the drops included).
  CHECK(cluster.wait_for_leader(15s));
  check_never_two_leaders(cluster, 3);
}
