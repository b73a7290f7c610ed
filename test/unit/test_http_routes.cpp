// The router and the election endpoints as plain function calls: no sockets, a fake clock.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/election_routes.h"
#include "http/leader_answer.h"
#include "http/route_table.h"
#include "http_snapshots.h"
#include "util/micro_time.h"

using namespace std::chrono_literals;
using namespace std::string_literals;
using le::election::ElectionSnapshot;
using le::election::SnapshotBoard;
using le::http::Request;
using le::http::Response;
using le::http::RouteTable;
using le::testing::boot0;
using le::testing::following_snapshot;
using le::testing::leading_snapshot;
using le::testing::wall0;
using nlohmann::json;
using FakeClock = le::testing::SetClock;

namespace {

struct Fixture {
  SnapshotBoard board;
  FakeClock clock;
  boost::asio::io_context io;
  std::shared_ptr<le::http::LeaderFeed> feed = le::http::LeaderFeed::create(io.get_executor(), board, clock);
  std::shared_ptr<RouteTable> router = le::http::make_election_route_table(board, clock, feed);

  void publish(ElectionSnapshot s) { board.publish(std::make_shared<const ElectionSnapshot>(std::move(s))); }
  void at(std::chrono::nanoseconds boot_offset, std::chrono::nanoseconds wall_offset) {
    clock.boot = boot0 + boot_offset;
    clock.wall = wall0 + wall_offset;
  }
  Response call(std::string method, std::string target) const {
    return router->route(Request{std::move(method), std::move(target), {}});
  }
  json get_json(const std::string& target) const {
    const auto response = call("GET", target);
    CHECK(response.content_type == "application/json");
    return json::parse(response.body);
  }
};

std::string header(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "/leader for a follower names the holder and claims nothing") {
  publish(following_snapshot());
  at(1s, 1s);
  const auto body = get_json("/leader");
  CHECK(body["name"] == "pod-b");
  CHECK(body["isLeader"] == false);
  CHECK(body["identity"] == "pod-a");
  CHECK(body["lease"] == "default/my-lease");
  CHECK(body["leaseTransitions"] == 3);
  CHECK(body["acquireTime"] == le::util::format_micro_time(le::util::to_micro(wall0 - 60s)));
  CHECK(body["renewTime"] == le::util::format_micro_time(le::util::to_micro(wall0)));
  CHECK(body["status"] == "following");
  CHECK_FALSE(body.contains("validForMs"));
  CHECK_FALSE(body.contains("validUntil"));
  CHECK(header(call("GET", "/leader"), "Cache-Control") == "no-store");
}

TEST_CASE_FIXTURE(Fixture, "/leader before any record: empty name, no times, zero transitions") {
  ElectionSnapshot s;
  s.identity = "pod-a";
  s.lease = "default/my-lease";
  s.status = "waiting for the API server";
  publish(s);
  const auto body = get_json("/leader");
  CHECK(body["name"] == "");
  CHECK(body["isLeader"] == false);
  CHECK(body["leaseTransitions"] == 0);
  CHECK_FALSE(body.contains("acquireTime"));
  CHECK_FALSE(body.contains("renewTime"));
  CHECK_FALSE(body.contains("validForMs"));
}

TEST_CASE_FIXTURE(Fixture, "/leader for the leader: validForMs and validUntil follow the deadline") {
  publish(leading_snapshot());
  at(2500ms + 700us, 2500ms + 700us);  // 7499.3 ms left: floored
  const auto body = get_json("/leader");
  CHECK(body["name"] == "pod-a");
  CHECK(body["isLeader"] == true);
  CHECK(body["validForMs"] == 7499);
  CHECK(body["validUntil"] == le::util::format_micro_time(le::util::to_micro(wall0 + 10s)));
  CHECK(body["status"] == "leading");
}

TEST_CASE_FIXTURE(Fixture, "leadership ends when either clock passes the deadline") {
  publish(leading_snapshot());

  SUBCASE("boot clock past the deadline") { at(10s, 9s); }
  SUBCASE("boot clock exactly at the deadline") { at(10s, 1s); }
  SUBCASE("wall clock jumped forward past the deadline: it can only shorten") { at(1s, 11s); }
  SUBCASE("wall clock stepped back: still bounded by the boot clock") { at(11s, -1h); }

  CHECK(get_json("/leader")["isLeader"] == false);
  CHECK_FALSE(get_json("/leader").contains("validForMs"));
  CHECK(call("GET", "/readyz").status == 503);
}

TEST_CASE_FIXTURE(Fixture, "the stricter clock sets validForMs") {
  publish(leading_snapshot());
  SUBCASE("wall clock ahead by 4 s") {
    at(1s, 5s);
    CHECK(get_json("/leader")["validForMs"] == 5000);
  }
  SUBCASE("wall clock stepped back an hour: the boot clock bounds it") {
    at(3s, -1h);
    const auto body = get_json("/leader");
    CHECK(body["validForMs"] == 7000);
    // validUntil is the same instant on the (stepped) wall clock.
    CHECK(body["validUntil"] == le::util::format_micro_time(le::util::to_micro(wall0 - 1h + 7s)));
  }
}

TEST_CASE_FIXTURE(Fixture, "a stopping replica never reports leadership") {
  auto s = leading_snapshot();
  s.stopping = true;
  publish(s);
  at(1s, 1s);
  CHECK(get_json("/leader")["isLeader"] == false);
  CHECK(call("GET", "/readyz").status == 503);
}

TEST_CASE_FIXTURE(Fixture, "/ answers exactly {\"name\": holder}, as the classic sidecar did") {
  publish(following_snapshot());
  CHECK(call("GET", "/").body == R"({"name":"pod-b"})");
  publish(ElectionSnapshot{});
  CHECK(call("GET", "/").body == R"({"name":""})");
}

TEST_CASE_FIXTURE(Fixture, "/healthz follows the election loop's promise, not leadership") {
  publish(following_snapshot());  // alive_until = boot0 + 30 s
  at(29s, 0s);
  auto response = call("GET", "/healthz");
  CHECK(response.status == 200);
  CHECK(response.body == R"({"status":"ok"})");

  at(31s, 0s);
  response = call("GET", "/healthz");
  CHECK(response.status == 503);
  const auto body = json::parse(response.body);
  CHECK(body["status"] == "unhealthy");
  CHECK(body["reason"].get<std::string>().find("1000 ms") != std::string::npos);

  publish(ElectionSnapshot{});
  response = call("GET", "/healthz");
  CHECK(response.status == 503);
  CHECK(json::parse(response.body)["reason"] == "the election loop has not started");
}

TEST_CASE_FIXTURE(Fixture, "/readyz is 200 only while this replica leads") {
  publish(leading_snapshot());
  at(1s, 1s);
  auto response = call("GET", "/readyz");
  CHECK(response.status == 200);
  CHECK(json::parse(response.body)["isLeader"] == true);

  publish(following_snapshot());
  response = call("GET", "/readyz");
  CHECK(response.status == 503);
  CHECK(json::parse(response.body)["isLeader"] == false);
}

TEST_CASE_FIXTURE(Fixture, "query strings are ignored for matching") {
  publish(following_snapshot());
  CHECK(call("GET", "/leader?verbose=1").status == 200);
  CHECK(call("GET", "/?x").body == R"({"name":"pod-b"})");
}

TEST_CASE_FIXTURE(Fixture, "unknown path: 404 JSON naming the path") {
  const auto response = call("GET", "/nope?a=b");
  CHECK(response.status == 404);
  CHECK(response.content_type == "application/json");
  const auto body = json::parse(response.body);
  CHECK(body["error"] == "not found");
  CHECK(body["path"] == "/nope");
}

TEST_CASE_FIXTURE(Fixture, "known path, wrong method: 405 JSON with Allow") {
  const auto response = call("POST", "/leader");
  CHECK(response.status == 405);
  CHECK(json::parse(response.body)["error"] == "method not allowed");
  CHECK(header(response, "Allow") == "GET, HEAD");
  CHECK(call("DELETE", "/readyz").status == 405);
}

TEST_CASE("Allow lists exactly the registered methods") {
  RouteTable router;
  router.add("POST", "/only-post", [](const Request&) { return le::http::json_response(200, "{}"); });
  const auto response = router.route(Request{"GET", "/only-post", {}});
  CHECK(response.status == 405);
  CHECK(header(response, "Allow") == "POST");
  CHECK(router.route(Request{"HEAD", "/only-post", {}}).status == 405);
}

TEST_CASE_FIXTURE(Fixture, "HEAD answers every GET route with the same headers and no body to send") {
  publish(leading_snapshot());
  at(1s, 1s);
  for (const char* path : {"/", "/leader", "/healthz", "/readyz"}) {
    CAPTURE(path);
    const auto get = call("GET", path);
    const auto head = call("HEAD", path);
    CHECK_FALSE(get.omit_body);
    CHECK(head.omit_body);
    CHECK(head.status == get.status);
    CHECK(head.body.size() == get.body.size());  // what Content-Length will announce
    CHECK(head.headers == get.headers);
  }
}

TEST_CASE("a handler that throws becomes a 500, not a crash") {
  RouteTable router;
  router.get("/boom", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  const auto response = router.route(Request{"GET", "/boom", {}});
  CHECK(response.status == 500);
  CHECK(json::parse(response.body)["error"] == "internal error");
}

TEST_CASE("request headers are found case-insensitively") {
  const Request request{"GET", "/", {{"Content-Type", "text/plain"}}};
  CHECK(request.header("content-type") == "text/plain");
  CHECK_FALSE(request.header("accept").has_value());
}

namespace {

// The /leader body as leader_body() built it before it was written directly: a json object, dumped.
std::string reference_body(const le::http::LeaderAnswer& answer, std::uint64_t index) {
  const auto& snapshot = *answer.snapshot;
  json body{
      {"name", snapshot.observed ? snapshot.observed->holder_identity : std::string{}},
      {"isLeader", answer.leading()},
      {"identity", snapshot.identity},
      {"lease", snapshot.lease},
      {"leaseTransitions", snapshot.observed ? snapshot.observed->lease_transitions : 0},
      {"status", answer.status},
      {"index", index},
  };
  if (snapshot.observed) {
    if (snapshot.observed->acquire_time)
      body["acquireTime"] = le::util::format_micro_time(*snapshot.observed->acquire_time);
    if (snapshot.observed->renew_time)
      body["renewTime"] = le::util::format_micro_time(*snapshot.observed->renew_time);
  }
  if (answer.valid_for) {
    body["validForMs"] = std::chrono::floor<std::chrono::milliseconds>(*answer.valid_for).count();
    body["validUntil"] = le::util::format_micro_time(
        le::util::to_micro(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
            answer.wall_now + *answer.valid_for)));
    body["validUntilBoottimeNs"] = (answer.boot_now + *answer.valid_for).time_since_epoch().count();
    if (!snapshot.fencing_token.empty()) body["fencingToken"] = snapshot.fencing_token;
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("the /leader body is written byte for byte as its json object dumped") {
  std::vector<ElectionSnapshot> snapshots{leading_snapshot(), following_snapshot(), ElectionSnapshot{}};
  auto with_token = leading_snapshot();
  with_token.fencing_token = "pod-a@2026-11-25T07:27:11.000042Z/7";
  snapshots.push_back(with_token);
  auto no_times = leading_snapshot();
  no_times.observed->acquire_time.reset();
  no_times.observed->renew_time.reset();
  no_times.observed->lease_transitions = -2;
  snapshots.push_back(no_times);
  // Whatever bytes an identity or a holder may hold: escapes, control characters, UTF-8, and bytes
  // that are not UTF-8 (replaced).
  for (const auto& odd : {"quote\"and\\backslash"s, "tab\tnew\nline\x01\x1f\x7f"s,
                          "h\xc3\xa9llo \xe2\x82\xac"s, "bad\xff\xfe utf8 \xc3"s, "nul\0byte"s, ""s}) {
    auto s = leading_snapshot();
    s.identity = odd;
    s.observed->holder_identity = odd;
    s.lease = "default/" + odd;
    s.fencing_token = odd;
    s.status = odd;
    snapshots.push_back(s);
  }
  for (const auto& snapshot : snapshots) {
    const auto shared = std::make_shared<const ElectionSnapshot>(snapshot);
    for (const std::chrono::nanoseconds offset : {0ns, 1ns, 999'999ns, 4'321'654'987ns, 11'000'000'000ns}) {
      const auto answer = le::http::answer_at(shared, boot0 + offset, wall0 + offset);
      for (const std::uint64_t index : {std::uint64_t{0}, std::uint64_t{7}, ~std::uint64_t{0}}) {
        CAPTURE(snapshot.identity);
        CAPTURE(offset.count());
        CHECK(le::http::leader_body_text(answer, index) == reference_body(answer, index));
        CHECK(le::http::leader_body(answer, index).dump(-1, ' ', false, json::error_handler_t::replace) ==
              reference_body(answer, index));
      }
    }
  }
}
