// The control listener's routes as plain function calls (a fake clock, a step-down that records
// what it was asked): POST /step-down answers 202 on the leader and 409 elsewhere, checks its
// hold-off, and the main listener's routes accept no POST at all.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "election/snapshot.h"
#include "http/admin_routes.h"
#include "http/election_routes.h"
#include "http/route_table.h"
#include "http_snapshots.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;
using le::election::SnapshotBoard;
using le::http::Request;
using le::http::Response;
using le::testing::following_snapshot;
using le::testing::leading_snapshot;
using nlohmann::json;

namespace {

struct Fixture {
  Fixture() {
    le::http::AdminActions actions;
    // As election::step_down does: hide leadership on the board if this replica leads.
    actions.step_down = [this](std::chrono::nanoseconds hold_off) {
      asked.push_back(hold_off);
      return board.withhold_leadership(clock);
    };
    actions.default_hold_off = 30s;
    actions.release_delay = 1500ms;
    routes = le::http::make_admin_route_table(board, clock, std::move(actions));
  }
  void publish(ElectionSnapshot s) { board.publish(std::make_shared<const ElectionSnapshot>(std::move(s))); }
  Response call(std::string method, std::string target) const {
    return routes->route(Request{std::move(method), std::move(target), {}});
  }

  SnapshotBoard board;
  le::testing::SetClock clock;
  std::vector<std::chrono::nanoseconds> asked;
  std::shared_ptr<le::http::RouteTable> routes;
};

}  // namespace

TEST_CASE("POST /step-down on the leader: 202, leadership hidden at once, the default hold-off") {
  Fixture f;
  f.publish(leading_snapshot());
  REQUIRE(f.board.current()->is_leader(f.clock));
  const auto response = f.call("POST", "/step-down");
  CHECK(response.status == 202);
  const auto body = json::parse(response.body);
  CHECK(body["steppedDown"] == true);
  CHECK(body["identity"] == "pod-a");
  CHECK(body["releaseDelayMs"] == 1500);
  CHECK(body["holdoffMs"] == 30000);
  CHECK(f.asked == std::vector<std::chrono::nanoseconds>{30s});
  CHECK_FALSE(f.board.current()->is_leader(f.clock));
  // A second request finds nothing to step down from.
  CHECK(f.call("POST", "/step-down").status == 409);
}

TEST_CASE("POST /step-down?holdoff= takes Go durations and refuses anything else, asking nothing") {
  Fixture f;
  f.publish(leading_snapshot());
  for (const char* bad : {"soon", "-1s", "25h", "", "1"}) {
    CAPTURE(bad);
    const auto response = f.call("POST", std::string("/step-down?holdoff=") + bad);
    CHECK(response.status == 400);
    CHECK(json::parse(response.body)["error"].get<std::string>().starts_with("holdoff"));
  }
  CHECK(f.asked.empty());
  CHECK(f.board.current()->is_leader(f.clock));
  CHECK(f.call("POST", "/step-down?holdoff=2m30s").status == 202);
  CHECK(f.asked == std::vector<std::chrono::nanoseconds>{150s});
}

TEST_CASE("a zero hold-off is allowed: release, and campaign again at once") {
  Fixture f;
  f.publish(leading_snapshot());
  CHECK(f.call("POST", "/step-down?holdoff=0s").status == 202);
  CHECK(f.asked == std::vector<std::chrono::nanoseconds>{0s});
}

TEST_CASE("POST /step-down on a follower: 409 naming the leader, and nothing changes") {
  Fixture f;
  f.publish(following_snapshot());
  const auto response = f.call("POST", "/step-down");
  CHECK(response.status == 409);
  const auto body = json::parse(response.body);
  CHECK(body["error"] == "this replica does not lead");
  CHECK(body["leader"] == "pod-b");
  CHECK(body["status"] == "following");
  CHECK_FALSE(f.board.current()->stepping_down);
}

TEST_CASE("the step-down is POST only: GET is 405 with Allow") {
  Fixture f;
  f.publish(leading_snapshot());
  const auto response = f.call("GET", "/step-down");
  CHECK(response.status == 405);
  bool allow_post = false;
  for (const auto& [name, value] : response.headers) allow_post |= name == "Allow" && value == "POST";
  CHECK(allow_post);
  CHECK(f.asked.empty());
  CHECK(f.board.current()->is_leader(f.clock));
}

TEST_CASE("the main listener accepts no POST, on any of its paths") {
  SnapshotBoard board;
  le::testing::SetClock clock;
  boost::asio::io_context io;
  const auto feed = le::http::LeaderFeed::create(io.get_executor(), board, clock);
  const auto routes = le::http::make_election_route_table(board, clock, feed);
  for (const char* path : {"/leader", "/leader/stream", "/", "/healthz", "/readyz", "/step-down"}) {
    CAPTURE(path);
    const auto status = routes->route(Request{"POST", path, {}}).status;
    CHECK((status == 405 || status == 404));
  }
  CHECK(routes->route(Request{"POST", "/step-down", {}}).status == 404);
}
