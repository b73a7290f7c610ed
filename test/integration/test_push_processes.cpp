// The pushed /leader with real sidecar processes: a long poll and an event stream on a follower
// are answered when it takes over, and one on a leader when its renew deadline passes with no
// renewal, at that instant and saying so. Wake-up latencies are printed, not judged closely (a
// loaded CI machine schedules late; bench/ measures them): the bound here is far below what
// polling would take. Split brain: no pushed answer may say isLeader after its own deadline, and
// the new leader's fencing token must be greater than the old one's.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "event_stream_client.h"
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

ClusterOptions push_options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.leader_answer_timeout = 5s;
  return o;
}

using Pushed = le::testing::PushedAnswer;
using StreamReader = le::testing::EventStreamClient;

// One long poll, answered on another thread.
std::future<std::optional<Pushed>> long_poll(int port, std::uint64_t index) {
  return std::async(std::launch::async, [port, index]() -> std::optional<Pushed> {
    le::testing::HttpClient http;
    const auto answer = http.get(
        "http://127.0.0.1:" + std::to_string(port) + "/leader?index=" + std::to_string(index) + "&wait=60s",
        70s);
    const auto received = boot_now_ns();
    if (answer.status != 200) return std::nullopt;
    return Pushed{json::parse(answer.body), received};
  });
}

bool leads(const json& body) { return body.value("isLeader", false); }

}  // namespace

TEST_CASE("a follower's long poll and stream are answered when it takes over, with a greater fencing token") {
  LocalCluster cluster(push_options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.start_sidecar(0);
  cluster.start_sidecar(1);
  auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  const std::size_t leader = first->first;
  const std::size_t follower = 1 - leader;
  const auto old_token = cluster.leader_view(leader).body.at("fencingToken").get<std::string>();

  // The follower's current answer, once it has seen the leader.
  json seen;
  for (const auto until = steady_clock::now() + 10s; steady_clock::now() < until;
       std::this_thread::sleep_for(10ms)) {
    // A follower still starting answers nothing yet: its view's body is null, so ask again.
    const auto view = cluster.leader_view(follower);
    if (!view.answered) continue;
    seen = view.body;
    if (view.name == cluster.identity(leader)) break;
  }
  REQUIRE(seen.is_object());
  REQUIRE(seen.value("name", "") == cluster.identity(leader));
  CHECK_FALSE(leads(seen));
  auto poll = long_poll(cluster.http_port(follower), seen.at("index").get<std::uint64_t>());
  StreamReader stream(cluster.http_port(follower));
  REQUIRE(stream.next_event(5s, [](const json&) { return true; }));  // the current answer, at once
  // The long poll is held: nothing changed.
  CHECK(poll.wait_for(300ms) == std::future_status::timeout);

  const auto signalled = boot_now_ns();
  cluster.sidecar(leader).signal(SIGTERM);
  const auto streamed = stream.next_event(20s, leads);
  REQUIRE(poll.wait_for(20s) == std::future_status::ready);
  const auto polled = poll.get();
  REQUIRE(polled);
  REQUIRE(streamed);
  // The long poll may have been answered by an intermediate change (the holder released the
  // Lease) before the takeover; then it is an answer for a follower, and says so.
  const auto term = first_term_after(cluster.leadership_terms(), signalled, leader);
  REQUIRE(term);
  if (leads(polled->body)) {
    MESSAGE("long poll answered " << (polled->received_boot_ns - term->start_boot_ns) / 1000
                                  << " us after the term began");
    CHECK(polled->received_boot_ns - term->start_boot_ns < duration_cast<nanoseconds>(1s).count());
  } else {
    CHECK(polled->body.at("index").get<std::uint64_t>() > seen.at("index").get<std::uint64_t>());
  }
  MESSAGE("stream event " << (streamed->received_boot_ns - term->start_boot_ns) / 1000
                          << " us after the term began");
  CHECK(streamed->received_boot_ns >= term->start_boot_ns);
  CHECK(streamed->received_boot_ns - term->start_boot_ns < duration_cast<nanoseconds>(1s).count());
  // Read on this machine's boot clock: the pushed answer was still valid when it arrived.
  CHECK(streamed->body.at("validUntilBoottimeNs").get<std::int64_t>() > streamed->received_boot_ns);
  const auto new_token = streamed->body.at("fencingToken").get<std::string>();
  CHECK(std::stoull(new_token) > std::stoull(old_token));
  check_never_two_leaders(cluster, 2);
}

TEST_CASE(
    "an app that follows the push holds a live deadline while leading, and is told at the renew deadline") {
  auto o = push_options();
  o.lease_duration = "3s";
  o.renew_deadline = "2s";
  LocalCluster cluster(o);
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.start_sidecar(0);
  REQUIRE(cluster.wait_for_leader(20s));
  const int port = cluster.http_port(0);

  // Follows the long poll as an app would, for `span`, or until an answer says not leading: every
  // leading answer must arrive before its own deadline, and the next one before that deadline too
  // (a renewal is no news, so the sidecar re-answers halfway to it).
  std::int64_t last_deadline = 0;
  std::uint64_t index = 0;
  const auto follow = [&](milliseconds span) -> std::optional<Pushed> {
    last_deadline = 0;
    const auto until = steady_clock::now() + span;
    while (steady_clock::now() < until) {
      auto answer = long_poll(port, index).get();
      REQUIRE(answer);
      index = answer->body.at("index").get<std::uint64_t>();
      if (!leads(answer->body)) return answer;
      if (last_deadline != 0) CHECK(answer->received_boot_ns < last_deadline);
      last_deadline = answer->body.at("validUntilBoottimeNs").get<std::int64_t>();
      CHECK(answer->received_boot_ns < last_deadline);
    }
    return std::nullopt;
  };
  REQUIRE_FALSE(follow(5s));  // five seconds of leading: 2.5 renew deadlines

  // The stream, likewise: its events keep a live deadline. (Read as they come: an event read late
  // would be judged late.)
  StreamReader stream(port);
  std::int64_t stream_deadline = 0;
  for (const auto until = steady_clock::now() + 3s; steady_clock::now() < until;) {
    const auto event = stream.next_event(3s, [](const json&) { return true; });
    REQUIRE(event);
    REQUIRE(leads(event->body));
    if (stream_deadline != 0) CHECK(event->received_boot_ns < stream_deadline);
    stream_deadline = event->body.at("validUntilBoottimeNs").get<std::int64_t>();
  }

  // Every request fails from now on: no renewal succeeds, and leadership ends at the deadline of
  // the last one that did, which the last leading answer gave.
  // The stream is read on a thread of its own from here, as the long poll is followed.
  auto stream_end = std::async(std::launch::async, [&stream, &stream_deadline]() -> std::optional<Pushed> {
    while (true) {
      auto event = stream.next_event(15s);
      if (!event || !leads(event->body)) return event;
      stream_deadline = event->body.at("validUntilBoottimeNs").get<std::int64_t>();
    }
  });
  cluster.set_faults({{"errorRate", 1.0}, {"errorStatus", 500}});
  const auto ended = follow(10s);
  REQUIRE(ended);
  CHECK(ended->body.at("status") == "not leading: the renew deadline passed without a renewal");
  MESSAGE("long poll: told " << (ended->received_boot_ns - last_deadline) / 1000 << " us after the deadline");
  CHECK(ended->received_boot_ns >= last_deadline);
  CHECK(ended->received_boot_ns - last_deadline < duration_cast<nanoseconds>(1s).count());
  const auto streamed_end = stream_end.get();
  REQUIRE(streamed_end);
  CHECK(streamed_end->body.at("status") == "not leading: the renew deadline passed without a renewal");
  MESSAGE("stream: told " << (streamed_end->received_boot_ns - stream_deadline) / 1000
                          << " us after the deadline");
  CHECK(streamed_end->received_boot_ns >= stream_deadline);
  CHECK(streamed_end->received_boot_ns - stream_deadline < duration_cast<nanoseconds>(1s).count());
  cluster.set_faults(json::object());
}
