// --notify-url's WebhookNotifier against a real loopback receiver (test/support/webhook_receiver.h)
// with a hand-set clock: the current answer at once, one POST per change with its event, a failed
// POST retried with the newest answer (an older one is never sent late), a body built at the
// moment it is sent (never "isLeader": true past its validUntilBoottimeNs), and a leader's refresh
// halfway to the end of its validity. Waits are bounded conditions; nothing asserts a timing.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "election/snapshot.h"
#include "http/leader_feed.h"
#include "http/webhook.h"
#include "http_snapshots.h"
#include "util/metrics_text.h"
#include "webhook_receiver.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;
using le::http::AnswerKey;
using le::http::webhook_event;
using le::testing::boot0;
using le::testing::following_snapshot;
using le::testing::leading_snapshot;
using le::testing::wall0;
using le::testing::WebhookReceiver;
using nlohmann::json;

namespace {

// A clock the test sets while the io thread reads it.
struct AtomicSetClock final : le::election::Clock {
  std::atomic<le::election::BootTime::rep> boot{0};
  std::atomic<le::election::WallClockTime::rep> wall{0};
  void set(le::election::BootTime b, le::election::WallClockTime w) {
    boot.store(b.time_since_epoch().count());
    wall.store(w.time_since_epoch().count());
  }
  le::election::BootTime boot_now() const override {
    return le::election::BootTime{le::election::BootTime::duration{boot.load()}};
  }
  le::election::WallClockTime wall_now() const override {
    return le::election::WallClockTime{le::election::WallClockTime::duration{wall.load()}};
  }
};

// Waits (up to 10 s) for an attempt whose body satisfies `matches`, whatever it was answered.
template <class Matches>
bool attempted(const WebhookReceiver& receiver, Matches matches) {
  for (int i = 0; i < 1000; ++i) {
    for (const auto& body : receiver.attempt_bodies()) {
      if (matches(json::parse(body))) return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

struct Fixture {
  Fixture() {
    board.add_observer(le::http::LeaderFeed::board_observer(feed));
    clock.set(boot0, wall0);
    publish(following_snapshot());
    thread = std::thread([this] { io.run(); });
  }
  ~Fixture() {
    if (notifier) notifier->stop();
    feed->stop();
    work.reset();
    io.stop();
    thread.join();
  }
  void publish(ElectionSnapshot s) { board.publish(std::make_shared<const ElectionSnapshot>(std::move(s))); }
  void start(std::chrono::nanoseconds timeout = 2s) {
    le::http::WebhookSettings settings;
    settings.host = "127.0.0.1";
    settings.port =
        static_cast<std::uint16_t>(std::stoi(receiver.url().substr(17, receiver.url().rfind('/') - 17)));
    settings.target = "/hook";
    settings.url = receiver.url();
    settings.timeout = timeout;
    settings.backoff_min = 50ms;
    settings.backoff_max = 200ms;
    notifier = le::http::WebhookNotifier::create(io.get_executor(), feed, settings);
    notifier->start();
  }
  // How many POSTs the notifier has seen answered 2xx (its metric). The receiver records a
  // delivery before it answers, so the notifier may not know of it yet; news published in that
  // gap would drop the POST as under way, and the next body would rightly carry no previousIndex.
  std::size_t notifier_delivered() const {
    le::util::MetricsText out;
    notifier->write_metrics(out, "l");
    const std::string key = "result=\"delivered\"} ";
    const auto at = out.text().find(key);
    return at == std::string::npos ? 0 : std::stoul(out.text().substr(at + key.size()));
  }
  // The deliveries, once there are at least `count` and the notifier has seen them answered
  // (waiting up to 10 s).
  std::vector<json> delivered(std::size_t count) {
    for (int i = 0; i < 1000 && (receiver.deliveries().size() < count || notifier_delivered() < count); ++i) {
      std::this_thread::sleep_for(10ms);
    }
    std::vector<json> bodies;
    for (const auto& d : receiver.deliveries()) bodies.push_back(json::parse(d.body));
    return bodies;
  }

  le::election::SnapshotBoard board;
  AtomicSetClock clock;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::shared_ptr<le::http::LeaderFeed> feed = le::http::LeaderFeed::create(io.get_executor(), board, clock);
  WebhookReceiver receiver;
  std::shared_ptr<le::http::WebhookNotifier> notifier;
  std::thread thread;
};

}  // namespace

TEST_CASE("webhook events name what changed since the app was last told") {
  AnswerKey follower{false, "pod-b", 3, std::nullopt, "", "following"};
  AnswerKey leader{true, "pod-a", 4, std::nullopt, "42", "leading"};
  AnswerKey other = follower;
  other.name = "pod-c";
  AnswerKey status_only = follower;
  status_only.status = "waiting for the API server";
  CHECK(webhook_event(std::nullopt, follower, false) == "current");
  CHECK(webhook_event(follower, leader, false) == "became leader");
  CHECK(webhook_event(leader, follower, false) == "stopped leading");
  CHECK(webhook_event(follower, other, false) == "leader changed");
  CHECK(webhook_event(follower, status_only, false) == "changed");
  CHECK(webhook_event(leader, leader, true) == "refresh");
}

TEST_CASE("the current answer at once, then one POST per change, each built when it is sent") {
  Fixture f;
  f.start();
  auto bodies = f.delivered(1);
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0]["event"] == "current");
  CHECK(bodies[0]["isLeader"] == false);
  CHECK(bodies[0]["name"] == "pod-b");
  CHECK_FALSE(bodies[0].contains("previousIndex"));

  auto leader = leading_snapshot();
  leader.fencing_token = "123456789012345678901234567890";
  f.publish(leader);
  bodies = f.delivered(2);
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[1]["event"] == "became leader");
  CHECK(bodies[1]["isLeader"] == true);
  CHECK(bodies[1]["previousIndex"] == bodies[0]["index"]);
  CHECK(bodies[1]["index"] > bodies[0]["index"]);
  CHECK(bodies[1]["validUntilBoottimeNs"] == (boot0 + 10s).time_since_epoch().count());
  CHECK(bodies[1]["fencingToken"] == "123456789012345678901234567890");

  f.publish(following_snapshot());
  bodies = f.delivered(3);
  REQUIRE(bodies.size() == 3);
  CHECK(bodies[2]["event"] == "stopped leading");
  CHECK(bodies[2]["isLeader"] == false);
}

TEST_CASE("a failed POST is retried with the newest answer: an older one is never sent late") {
  Fixture f;
  f.start();
  REQUIRE(f.delivered(1).size() == 1);
  f.receiver.answer(503);
  f.publish(leading_snapshot());
  // Wait for a few refused attempts (the app says 503) while the replica leads...
  for (int i = 0; i < 1000 && f.receiver.attempts() < 4; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(f.receiver.attempts() >= 4);
  // ...then leadership passes to pod-c before the app takes POSTs again. The news does not wait
  // for the back-off: it is attempted at once (still refused), and then the app takes it.
  auto other = following_snapshot();
  other.observed->holder_identity = "pod-c";
  f.publish(other);
  REQUIRE(attempted(f.receiver, [](const json& body) { return body["name"] == "pod-c"; }));
  f.receiver.answer(200);
  const auto bodies = f.delivered(2);
  REQUIRE(bodies.size() >= 2);
  // The app never hears of the leadership it missed: the next thing it is told is the news now.
  CHECK(bodies[1]["isLeader"] == false);
  CHECK(bodies[1]["name"] == "pod-c");
  CHECK(bodies[1]["event"] == "leader changed");
  for (const auto& body : bodies) CHECK(body["isLeader"] == false);
}

TEST_CASE("a leader's answer that could not be delivered in time is sent saying it no longer leads") {
  Fixture f;
  f.start();
  REQUIRE(f.delivered(1).size() == 1);
  f.receiver.answer(500);
  f.publish(leading_snapshot());
  for (int i = 0; i < 1000 && f.receiver.attempts() < 3; ++i) std::this_thread::sleep_for(10ms);
  // The renew deadline passes (no renewal) while the app refuses the POSTs: the next attempt's
  // body, built anew, says so; only then does the app take POSTs again.
  f.clock.set(boot0 + 11s, wall0 + 11s);
  REQUIRE(attempted(f.receiver, [](const json& body) {
    return body["isLeader"] == false && body.contains("previousIndex");
  }));
  f.receiver.answer(200);
  const auto bodies = f.delivered(2);
  REQUIRE(bodies.size() >= 2);
  CHECK(bodies[1]["isLeader"] == false);
  CHECK_FALSE(bodies[1].contains("validUntilBoottimeNs"));
}

TEST_CASE("a leader's answer is sent again halfway to the end of its validity, with nothing new") {
  Fixture f;
  f.publish(leading_snapshot());
  f.start();
  auto bodies = f.delivered(1);
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0]["isLeader"] == true);
  // A renewal: the same term, a later deadline. No news (the index stays)...
  auto renewed = leading_snapshot();
  renewed.renew_sent_boot = boot0 + 5s;
  renewed.renew_sent_wall = wall0 + 5s;
  f.clock.set(boot0 + 5s, wall0 + 5s);
  f.publish(renewed);
  // ...but half of the 10 s the app was given has passed: it gets the new deadline.
  bodies = f.delivered(2);
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[1]["event"] == "refresh");
  CHECK(bodies[1]["index"] == bodies[0]["index"]);
  CHECK(bodies[1]["validUntilBoottimeNs"] == (boot0 + 15s).time_since_epoch().count());
}

TEST_CASE("news does not wait for a POST the app is slow to answer: it is sent at once") {
  // The app takes the first POST and never answers; the replica stops leading meanwhile. The
  // "stopped leading" must not wait out --notify-timeout (here 30 s): it has to reach the app
  // before the release lets another replica lead.
  Fixture f;
  f.publish(leading_snapshot());
  f.receiver.hang_next();
  f.start(30s);
  REQUIRE(attempted(f.receiver, [](const json& body) { return body["isLeader"] == true; }));
  f.publish(following_snapshot());
  const auto bodies = f.delivered(1);
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0]["isLeader"] == false);
}
