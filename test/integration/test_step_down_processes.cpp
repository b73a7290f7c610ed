// Stepping down on request with real sidecar processes: POST /step-down on the control listener
// and SIGUSR1 move leadership, keep the release delay and honour the hold-off. Split brain: the
// leadership logs of every sidecar (check_never_two_leaders) must not overlap across the three
// step-downs, and the stepped-down leader says isLeader=false as soon as its 202 has arrived.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "local_cluster.h"
#include "never_two_leaders.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::boot_now_ns;
using le::testing::check_never_two_leaders;
using le::testing::ClusterOptions;
using le::testing::first_term_after;
using le::testing::LocalCluster;
using nlohmann::json;

namespace {

constexpr auto kReleaseDelay = 500ms;

struct ControlledCluster {
  ControlledCluster() : cluster(options()) {
    cluster.create_lease(LocalCluster::released_lease_spec());
    for (std::size_t i = 0; i < 3; ++i) {
      admin_ports.push_back(le::testing::free_loopback_port());
      cluster.start_sidecar(i, {"--admin-http", "127.0.0.1:" + std::to_string(admin_ports[i]),
                                "--step-down-holdoff", "30s", "--step-down-delay", "500ms"});
    }
  }
  static ClusterOptions options() {
    ClusterOptions o;
    o.apiserver_binary = FAKE_APISERVER_BINARY;
    o.sidecar_binary = LEASE_ELECTOR_BINARY;
    o.release_delay = "0s";  // SIGTERM's; a step-down waits --step-down-delay
    o.leader_answer_timeout = 5s;
    return o;
  }
  le::testing::HttpAnswer step_down(std::size_t replica, const std::string& query = "") {
    return http.request("POST",
                        "http://127.0.0.1:" + std::to_string(admin_ports[replica]) + "/step-down" + query, "",
                        "", 5s);
  }

  LocalCluster cluster;
  std::vector<int> admin_ports;
  le::testing::HttpClient http;
};

}  // namespace

TEST_CASE("POST /step-down and SIGUSR1 move leadership, keep the release delay and honour the hold-off") {
  ControlledCluster c;
  LocalCluster& cluster = c.cluster;
  const auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  const std::size_t a = first->first;

  // A follower has nothing to step down from; once it has seen the leader, it names it.
  const std::size_t some_follower = (a + 1) % 3;
  for (const auto until = steady_clock::now() + 10s;
       cluster.leader_view(some_follower).name != cluster.identity(a) && steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
  const auto refused = c.step_down(some_follower);
  CHECK(refused.status == 409);
  CHECK(json::parse(refused.body)["leader"] == cluster.identity(a));
  // The main listener never accepts a POST.
  CHECK(
      c.http
          .request("POST", "http://127.0.0.1:" + std::to_string(cluster.http_port(a)) + "/leader", "", "", 5s)
          .status == 405);

  // 1. The leader steps down on request, with a hold-off of 30 s.
  const auto asked_a = boot_now_ns();
  const auto accepted = c.step_down(a, "?holdoff=30s");
  REQUIRE(accepted.status == 202);
  CHECK(json::parse(accepted.body)["releaseDelayMs"] == 500);
  CHECK_FALSE(cluster.leader_view(a).is_leader);  // already, before the release
  const auto second = cluster.wait_for_leader(10s, a);
  REQUIRE(second);
  const std::size_t b = second->first;
  const auto b_term = first_term_after(cluster.leadership_terms(), asked_a, a);
  REQUIRE(b_term);
  // Nobody took over before the release delay was over: the app had that long to stop.
  CHECK(b_term->start_boot_ns - asked_a >= duration_cast<nanoseconds>(kReleaseDelay).count());
  MESSAGE("POST /step-down to the next term: " << (b_term->start_boot_ns - asked_a) / 1'000'000 << " ms");

  // 2. SIGUSR1 steps the new leader down with --step-down-holdoff (30 s). A is still in its hold-off,
  //    so only the third replica may take over.
  const std::size_t third = 3 - a - b;
  const auto signalled_b = boot_now_ns();
  cluster.sidecar(b).signal(SIGUSR1);
  const auto next = cluster.wait_for_leader(10s, b);
  REQUIRE(next);
  CHECK(next->first == third);
  const auto third_term = first_term_after(cluster.leadership_terms(), signalled_b, b);
  REQUIRE(third_term);
  CHECK(third_term->replica == third);
  CHECK(third_term->start_boot_ns - signalled_b >= duration_cast<nanoseconds>(kReleaseDelay).count());

  // 3. The third steps down with no hold-off: A and B are both holding off, so it leads again, in a
  //    new term, and neither of them does.
  const auto asked_third = boot_now_ns();
  REQUIRE(c.step_down(third, "?holdoff=0s").status == 202);
  std::optional<le::testing::LoggedTerm> again;
  for (const auto until = steady_clock::now() + 10s; !again && steady_clock::now() < until;
       std::this_thread::sleep_for(20ms)) {
    for (const auto& term : cluster.leadership_terms()) {
      if (term.start_boot_ns >= asked_third) again = term;
    }
  }
  REQUIRE(again);
  CHECK(again->replica == third);
  CHECK(cluster.wait_for_leader(5s));
  CHECK(cluster.leaders() == std::vector<std::size_t>{third});

  CHECK(cluster.sidecar(a).log().find("stepped down from default/demo; campaigning again in") !=
        std::string::npos);
  CHECK(cluster.sidecar(b).log().find("received SIGUSR1: stepped down") != std::string::npos);
  check_never_two_leaders(cluster, 4);
}
