// The pushed /leader: the answer's index, the long poll and the event stream, with a fake clock and
// a recording Responder instead of sockets. The feed's timer runs on an io_context: a test sets the
// fake clock to the instant it is about, then runs the io_context until the timer has fired, and
// judges what was answered, never how long it took.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "election/snapshot.h"
#include "http/election_routes.h"
#include "http/leader_answer.h"
#include "http/leader_feed.h"
#include "http/route_table.h"
#include "http_snapshots.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;
using le::http::Request;
using le::http::Response;
using le::testing::boot0;
using le::testing::following_snapshot;
using le::testing::leading_snapshot;
using le::testing::wall0;
using nlohmann::json;

namespace {

struct RecordingResponder final : le::http::Responder {
  std::vector<Response> responses;
  std::optional<Response> head;
  std::vector<std::string> chunks;
  bool client_gone = false;
  void respond(Response response) override { responses.push_back(std::move(response)); }
  void start_stream(Response stream_head) override { head = std::move(stream_head); }
  void send_chunk(std::string data, std::function<void(bool)> written) override {
    chunks.push_back(std::move(data));
    written(!client_gone);
  }
};

struct Fixture {
  le::election::SnapshotBoard board;
  le::testing::SetClock clock;
  boost::asio::io_context io;
  std::shared_ptr<le::http::LeaderFeed> feed = le::http::LeaderFeed::create(io.get_executor(), board, clock);
  std::shared_ptr<le::http::RouteTable> routes = le::http::make_election_route_table(board, clock, feed);

  Fixture() {
    board.add_observer([this](const ElectionSnapshot&) { feed->snapshot_published(); });
  }
  ~Fixture() { feed->stop(); }

  void publish(ElectionSnapshot s) { board.publish(std::make_shared<const ElectionSnapshot>(std::move(s))); }
  void at(std::chrono::nanoseconds since_renewal) {
    clock.boot = boot0 + since_renewal;
    clock.wall = wall0 + since_renewal;
  }
  Response get(std::string target, le::http::HeaderList headers = {}) const {
    return routes->route(Request{"GET", std::move(target), std::move(headers)});
  }
  // Runs what is ready now (posted work, a timer already due): never waits for time to pass.
  void settle() {
    io.restart();
    io.poll();
  }
  // Runs until the feed's timer fires once (the fake clock already stands at the instant it is for).
  void run_timer() {
    io.restart();
    io.run_one_for(30s);
    io.poll();
  }
  std::uint64_t index_now() { return feed->read().index; }
};

json body_of(const Response& response) { return json::parse(response.body); }

std::string header(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

}  // namespace

TEST_CASE("the answer's index moves with the news, not with renewals") {
  le::http::AnswerIndex index;
  auto leader = le::http::answer_at(std::make_shared<const ElectionSnapshot>(leading_snapshot()), boot0 + 1s,
                                    wall0 + 1s);
  const auto first = index.index_for(leader.key());
  CHECK(first == 1);

  SUBCASE("a renewal (new renewTime, new send time) is no news") {
    auto renewed = leading_snapshot();
    renewed.observed->renew_time = le::util::to_micro(wall0 + 2s);
    renewed.renew_sent_boot = boot0 + 2s;
    renewed.renew_sent_wall = wall0 + 2s;
    const auto again =
        le::http::answer_at(std::make_shared<const ElectionSnapshot>(renewed), boot0 + 3s, wall0 + 3s);
    CHECK(index.index_for(again.key()) == first);
  }
  SUBCASE("the end of leadership by time alone is news") {
    const auto expired = le::http::answer_at(leader.snapshot, boot0 + 10s, wall0 + 10s);
    CHECK_FALSE(expired.leading());
    CHECK(index.index_for(expired.key()) == first + 1);
  }
  SUBCASE("another holder, a new term, a new fencing token are news") {
    const auto follower = le::http::answer_at(std::make_shared<const ElectionSnapshot>(following_snapshot()),
                                              boot0 + 1s, wall0 + 1s);
    CHECK(index.index_for(follower.key()) == first + 1);
    auto next_term = leading_snapshot();
    next_term.observed->acquire_time = le::util::to_micro(wall0);
    next_term.fencing_token = "7001";
    const auto leader_again =
        le::http::answer_at(std::make_shared<const ElectionSnapshot>(next_term), boot0 + 1s, wall0 + 1s);
    CHECK(index.index_for(leader_again.key()) == first + 2);
  }
}

TEST_CASE("the status is the one of the moment: holding, leading, past the renew deadline") {
  auto created = leading_snapshot();
  created.leading_not_before = boot0 + 3s;
  created.status = std::string{ElectionSnapshot::kStatusHoldingNotLeading};
  const auto snapshot = std::make_shared<const ElectionSnapshot>(created);
  CHECK(le::http::answer_at(snapshot, boot0 + 1s, wall0 + 1s).status == "holding, not yet leading");
  CHECK(le::http::answer_at(snapshot, boot0 + 1s, wall0 + 1s).next_change_by_time == boot0 + 3s);
  const auto leading = le::http::answer_at(snapshot, boot0 + 3s, wall0 + 3s);
  CHECK(leading.leading());
  CHECK(leading.status == "leading");
  CHECK(leading.next_change_by_time == boot0 + 10s);
  const auto past = le::http::answer_at(snapshot, boot0 + 10s, wall0 + 10s);
  CHECK_FALSE(past.leading());
  CHECK(past.status == "not leading: the renew deadline passed without a renewal");
  CHECK_FALSE(past.next_change_by_time);
}

TEST_CASE_FIXTURE(Fixture, "/leader of a leader: index, fencing token and the deadline on the boot clock") {
  auto s = leading_snapshot();
  s.fencing_token = "340282366920938463463374607431768211455";  // 2^128 - 1: a string, never a number
  publish(s);
  at(4s);
  const auto response = get("/leader");
  const auto body = body_of(response);
  CHECK(body["isLeader"] == true);
  CHECK(body["index"] == 1);
  CHECK(header(response, "X-Lease-Elector-Index") == "1");
  CHECK(body["fencingToken"] == "340282366920938463463374607431768211455");
  CHECK(body["validUntilBoottimeNs"] == (boot0 + 10s).time_since_epoch().count());
  CHECK(body["validForMs"] == 6000);

  publish(following_snapshot());
  const auto follower = body_of(get("/leader"));
  CHECK(follower["isLeader"] == false);
  CHECK(follower["index"] == 2);
  CHECK_FALSE(follower.contains("fencingToken"));
  CHECK_FALSE(follower.contains("validUntilBoottimeNs"));
}

TEST_CASE_FIXTURE(Fixture,
                  "long poll: at once for an older index, held for the current one, woken by a snapshot") {
  publish(following_snapshot());
  at(1s);
  const auto current = index_now();
  CHECK(body_of(get("/leader?index=0&wait=30s"))["index"] == current);
  CHECK(body_of(get("/leader?index=" + std::to_string(current + 5)))["index"] == current);

  const auto held = get("/leader?index=" + std::to_string(current) + "&wait=30s");
  REQUIRE(held.defer);
  auto responder = std::make_shared<RecordingResponder>();
  held.defer(responder);
  settle();
  CHECK(responder->responses.empty());
  CHECK(feed->waiting() == 1);

  SUBCASE("a renewal of the holder's record does not answer it") {
    auto renewed = following_snapshot();
    renewed.observed->renew_time = le::util::to_micro(wall0 + 2s);
    publish(renewed);
    settle();
    CHECK(responder->responses.empty());
  }
  SUBCASE("a new holder does") {
    auto s = following_snapshot();
    s.observed->holder_identity = "pod-c";
    publish(s);
    settle();
    REQUIRE(responder->responses.size() == 1);
    const auto body = body_of(responder->responses[0]);
    CHECK(body["name"] == "pod-c");
    CHECK(body["index"] == current + 1);
    CHECK(feed->waiting() == 0);
  }
}

TEST_CASE_FIXTURE(
    Fixture, "long poll: the end of leadership by time alone answers at that instant, saying not leading") {
  // Split brain guard: a long poll held across the renew deadline must not be answered from the
  // reading taken when it arrived, but from the one at the instant it is answered.
  publish(leading_snapshot());
  at(9s + 990ms);
  const auto current = index_now();
  const auto held = get("/leader?index=" + std::to_string(current) + "&wait=5m");
  REQUIRE(held.defer);
  auto responder = std::make_shared<RecordingResponder>();
  held.defer(responder);
  settle();
  REQUIRE(responder->responses.empty());
  at(10s);  // the renew deadline, with no renewal
  run_timer();
  REQUIRE(responder->responses.size() == 1);
  const auto body = body_of(responder->responses[0]);
  CHECK(body["isLeader"] == false);
  CHECK(body["status"] == "not leading: the renew deadline passed without a renewal");
  CHECK(body["index"] == current + 1);
}

TEST_CASE_FIXTURE(Fixture,
                  "long poll: the start of leadership after a create's wait answers at that instant") {
  auto created = leading_snapshot();
  created.leading_not_before = boot0 + 50ms;
  created.status = std::string{ElectionSnapshot::kStatusHoldingNotLeading};
  publish(created);
  at(0s);
  const auto current = index_now();
  auto responder = std::make_shared<RecordingResponder>();
  // A wait far longer than run_timer() runs: only the timer for the start of leadership answers it.
  get("/leader?index=" + std::to_string(current) + "&wait=5m").defer(responder);
  settle();
  REQUIRE(responder->responses.empty());
  at(50ms);
  run_timer();
  REQUIRE(responder->responses.size() == 1);
  const auto body = body_of(responder->responses[0]);
  CHECK(body["isLeader"] == true);
  CHECK(body["status"] == "leading");
}

TEST_CASE_FIXTURE(Fixture, "long poll: after the wait, the current answer with the same index") {
  publish(following_snapshot());
  at(1s);
  const auto current = index_now();
  auto responder = std::make_shared<RecordingResponder>();
  get("/leader?index=" + std::to_string(current) + "&wait=20ms").defer(responder);
  at(1s + 20ms);
  run_timer();
  REQUIRE(responder->responses.size() == 1);
  CHECK(body_of(responder->responses[0])["index"] == current);
}

TEST_CASE_FIXTURE(Fixture, "long poll: bad parameters are a 400 naming the rule") {
  publish(following_snapshot());
  CHECK(get("/leader?index=abc").status == 400);
  CHECK(get("/leader?index=-1").status == 400);
  CHECK(get("/leader?index=1&wait=soon").status == 400);
  CHECK(get("/leader?index=1&wait=3h").status == 400);
  CHECK(get("/leader?wait=30s").status == 400);
  CHECK(body_of(get("/leader?wait=30s"))["error"] == "wait needs index: GET /leader?index=N&wait=30s");
  // A HEAD or wait=0 never waits.
  const auto current = index_now();
  CHECK_FALSE(routes->route(Request{"HEAD", "/leader?index=" + std::to_string(current), {}}).defer);
  CHECK_FALSE(get("/leader?index=" + std::to_string(current) + "&wait=0s").defer);
}

TEST_CASE_FIXTURE(Fixture, "the event stream: the current answer at once, then one event per change") {
  publish(following_snapshot());
  at(1s);
  const auto stream = get("/leader/stream");
  REQUIRE(stream.defer);
  auto responder = std::make_shared<RecordingResponder>();
  stream.defer(responder);
  settle();
  REQUIRE(responder->head);
  CHECK(responder->head->content_type == "text/event-stream");
  CHECK(header(*responder->head, "Cache-Control") == "no-store");
  REQUIRE(responder->chunks.size() == 1);
  const auto first = index_now();
  CHECK(responder->chunks[0].starts_with("retry: 1000\nid: " + std::to_string(first) + "\ndata: {"));
  CHECK(responder->chunks[0].ends_with("}\n\n"));

  // Leading from a renewal sent at 1 s, so until 11 s; published 20 ms before that, so the timer
  // for the end is 20 ms away (the feed's timer waits real time for fake time).
  auto leader = leading_snapshot();
  leader.renew_sent_boot = boot0 + 1s;
  leader.renew_sent_wall = wall0 + 1s;
  at(10s + 980ms);
  publish(leader);
  settle();
  REQUIRE(responder->chunks.size() == 2);
  const auto& event = responder->chunks[1];
  CHECK(event.starts_with("id: " + std::to_string(first + 1) + "\ndata: "));
  const auto data = json::parse(event.substr(event.find("data: ") + 6));
  CHECK(data["isLeader"] == true);
  CHECK(data["index"] == first + 1);

  SUBCASE("the end of leadership by time alone is an event at that instant") {
    at(11s);
    run_timer();
    REQUIRE(responder->chunks.size() == 3);
    CHECK(json::parse(responder->chunks[2].substr(responder->chunks[2].find("data: ") + 6))["isLeader"] ==
          false);
  }
  SUBCASE("a client that is gone ends the stream: it waits on nothing any more") {
    responder->client_gone = true;
    publish(following_snapshot());
    settle();
    CHECK(responder->chunks.size() == 3);
    CHECK(feed->waiting() == 0);
  }
}

TEST_CASE_FIXTURE(Fixture, "the event stream honours Last-Event-ID: no repeat of an answer the client has") {
  publish(following_snapshot());
  at(1s);
  const auto current = index_now();
  auto responder = std::make_shared<RecordingResponder>();
  get("/leader/stream", {{"Last-Event-ID", std::to_string(current)}}).defer(responder);
  settle();
  REQUIRE(responder->chunks.size() == 1);
  CHECK(responder->chunks[0] == "retry: 1000\n: keep-alive\n\n");
  CHECK(feed->waiting() == 1);

  // Nothing new for the keep-alive interval: a comment line, and the stream waits again. (The
  // feed is asked to look at the fake instant rather than made to wait 15 s of real time.)
  at(1s + le::http::kStreamKeepAlive);
  feed->snapshot_published();
  settle();
  REQUIRE(responder->chunks.size() == 2);
  CHECK(responder->chunks[1] == ": keep-alive\n\n");
  CHECK(feed->waiting() == 1);
}

TEST_CASE(
    "a leader's answer is refreshed halfway to its deadline, so a pushed deadline never lapses while it "
    "leads") {
  CHECK(le::http::refresh_after(10s) == 5s);
  CHECK(le::http::refresh_after(150ms) == 100ms);  // not sooner than kMinRefresh
  CHECK(le::http::refresh_after(60ms) == 60ms);    // but never later than the end
}

TEST_CASE_FIXTURE(Fixture, "a leader's long poll comes back with the same index and the renewed deadline") {
  publish(leading_snapshot());  // renewed at 0 s: valid until 10 s
  at(9s + 700ms);               // 300 ms left: refreshed after 150 ms
  const auto current = index_now();
  auto responder = std::make_shared<RecordingResponder>();
  get("/leader?index=" + std::to_string(current) + "&wait=30s").defer(responder);
  settle();
  auto renewed = leading_snapshot();
  renewed.renew_sent_boot = boot0 + 9s + 700ms;
  renewed.renew_sent_wall = wall0 + 9s + 700ms;
  publish(renewed);  // a renewal is no news: the poll stays
  settle();
  REQUIRE(responder->responses.empty());
  at(9s + 850ms);
  run_timer();
  REQUIRE(responder->responses.size() == 1);
  const auto body = body_of(responder->responses[0]);
  CHECK(body["index"] == current);
  CHECK(body["isLeader"] == true);
  CHECK(body["validUntilBoottimeNs"] == (boot0 + 19s + 700ms).time_since_epoch().count());
}

TEST_CASE_FIXTURE(Fixture, "a leader's stream re-sends the current answer with the renewed deadline") {
  publish(leading_snapshot());
  at(9s + 700ms);
  auto responder = std::make_shared<RecordingResponder>();
  get("/leader/stream").defer(responder);
  settle();
  REQUIRE(responder->chunks.size() == 1);
  const auto index = index_now();
  auto renewed = leading_snapshot();
  renewed.renew_sent_boot = boot0 + 9s + 700ms;
  renewed.renew_sent_wall = wall0 + 9s + 700ms;
  publish(renewed);
  settle();
  REQUIRE(responder->chunks.size() == 1);
  at(9s + 850ms);
  run_timer();
  REQUIRE(responder->chunks.size() == 2);
  const auto& event = responder->chunks[1];
  CHECK(event.starts_with("id: " + std::to_string(index) + "\ndata: "));
  const auto data = json::parse(event.substr(event.find("data: ") + 6));
  CHECK(data["validUntilBoottimeNs"] == (boot0 + 19s + 700ms).time_since_epoch().count());
}
