// --notify-url with real sidecar processes, each POSTing to a receiver of its own (the app): every
// replica's app hears the current answer at start, the leader's app hears "became leader", and
// through handovers by SIGTERM and SIGKILL. Split brain, judged from what the apps were told: an
// app that follows only its webhook believes it leads from a leading POST's arrival until its
// validUntilBoottimeNs or the next POST saying otherwise; no two apps' beliefs overlap, and no
// POST arrives saying isLeader after its own validUntilBoottimeNs.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "local_cluster.h"
#include "never_two_leaders.h"
#include "webhook_receiver.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::check_never_two_leaders;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
using le::testing::WebhookReceiver;
using nlohmann::json;

namespace {

ClusterOptions options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.release_delay = "500ms";  // the time the app has to hear "stopped leading" before the release
  o.leader_answer_timeout = 5s;
  return o;
}

struct Belief {
  std::size_t replica;
  std::int64_t from;
  std::int64_t until;
};

// What an app that follows only its webhook believed: leading from a leading POST's arrival until
// its validUntilBoottimeNs, cut short by a POST saying otherwise, extended by later leading POSTs.
std::vector<Belief> beliefs(std::size_t replica, const std::vector<WebhookReceiver::Delivery>& deliveries,
                            int& late) {
  std::vector<Belief> out;
  std::optional<Belief> current;
  for (const auto& d : deliveries) {
    const json body = json::parse(d.body);
    if (current && d.received_boot_ns >= current->until) {
      out.push_back(*current);
      current.reset();
    }
    if (body["isLeader"] == true) {
      const std::int64_t until = body["validUntilBoottimeNs"];
      if (d.received_boot_ns >= until) ++late;
      if (!current) current = Belief{replica, d.received_boot_ns, until};
      current->until = std::max(current->until, until);
    } else if (current) {
      current->until = std::min(current->until, d.received_boot_ns);
      out.push_back(*current);
      current.reset();
    }
  }
  if (current) out.push_back(*current);
  return out;
}

std::size_t count_event(const WebhookReceiver& receiver, const std::string& event) {
  std::size_t n = 0;
  for (const auto& d : receiver.deliveries()) n += json::parse(d.body)["event"] == event ? 1 : 0;
  return n;
}

// POSTs that told the app it now leads: "became leader", or the first one of a sidecar that
// already led when it was sent.
std::size_t leading_news(const WebhookReceiver& receiver) {
  std::size_t n = 0;
  for (const auto& d : receiver.deliveries()) {
    const json body = json::parse(d.body);
    n += body["event"] == "became leader" || (body["event"] == "current" && body["isLeader"] == true) ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("every app is told, and no two apps that follow their webhooks believe they lead at once") {
  LocalCluster cluster(options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  std::vector<std::unique_ptr<WebhookReceiver>> apps;
  const auto start = [&](std::size_t i) { cluster.start_sidecar(i, {"--notify-url", apps[i]->url()}); };
  for (std::size_t i = 0; i < 3; ++i) {
    apps.push_back(std::make_unique<WebhookReceiver>());
    start(i);
  }
  std::optional<std::size_t> previous;
  std::vector<std::size_t> became(apps.size(), 0);
  for (int round = 0; round < 4; ++round) {
    const auto leader = cluster.wait_for_leader(20s, previous);
    REQUIRE(leader);
    const std::size_t l = leader->first;
    // Its app hears of it (the POST may trail /leader by a moment): one more leading news.
    const std::size_t before = became[l];
    for (int i = 0; i < 500 && leading_news(*apps[l]) == before; ++i) std::this_thread::sleep_for(10ms);
    became[l] = leading_news(*apps[l]);
    CHECK(became[l] == before + 1);
    std::this_thread::sleep_for(300ms);
    if (round % 2 == 0) {
      cluster.sidecar(l).signal(SIGTERM);  // its app hears "stopped leading" within the release delay
      REQUIRE(cluster.sidecar(l).wait_for(10s));
    } else {
      cluster.sidecar(l).kill_now();  // its app hears nothing: its belief ends at validUntil
    }
    start(l);
    previous = l;
  }
  REQUIRE(cluster.wait_for_leader(20s, previous));
  std::this_thread::sleep_for(300ms);

  std::vector<Belief> all;
  int late = 0;
  for (std::size_t i = 0; i < apps.size(); ++i) {
    const auto deliveries = apps[i]->deliveries();
    REQUIRE_FALSE(deliveries.empty());
    CHECK(json::parse(deliveries.front().body)["event"] == "current");
    for (const auto& b : beliefs(i, deliveries, late)) all.push_back(b);
  }
  CHECK(late == 0);
  std::sort(all.begin(), all.end(), [](const Belief& a, const Belief& b) { return a.from < b.from; });
  CHECK(all.size() >= 5);
  for (std::size_t i = 1; i < all.size(); ++i) {
    INFO("replica " << all[i - 1].replica << " [" << all[i - 1].from << ", " << all[i - 1].until
                    << "] and replica " << all[i].replica << " [" << all[i].from << ", " << all[i].until
                    << "]");
    CHECK(all[i - 1].until <= all[i].from);
  }
  // Two SIGTERMs: both leaders' apps were told before the release.
  std::size_t stopped = 0;
  for (const auto& app : apps) stopped += count_event(*app, "stopped leading");
  CHECK(stopped >= 2);
  check_never_two_leaders(cluster, 5);
}
