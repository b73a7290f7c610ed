#include "http/election_routes.h"

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/micro_time.h"

namespace le::http {
namespace {

using election::ElectionSnapshot;
using nlohmann::json;

// One reading of both clocks and what follows from it. Every field of a response is derived
// from the same reading, so isLeader, validForMs and validUntil can never disagree (two
// readings could straddle the deadline).
struct Leadership {
  election::BootTime boot_now;
  election::WallClockTime wall_now;
  std::optional<std::chrono::nanoseconds> valid_for;

  Leadership(const ElectionSnapshot& snapshot, const election::Clock& clock)
      : boot_now(clock.boot_now()),
        wall_now(clock.wall_now()),
        valid_for(snapshot.valid_for(boot_now, wall_now)) {}
  bool leading() const { return valid_for.has_value(); }
};

Response json_ok(unsigned status, const json& body) {
  auto response = json_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
  // Leadership changes from one moment to the next; no cache may answer for us.
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

json leader_body(const ElectionSnapshot& snapshot, const Leadership& now) {
  json body{
      {"name", snapshot.observed ? snapshot.observed->holder_identity : std::string{}},
      {"isLeader", now.leading()},
      {"identity", snapshot.identity},
      {"lease", snapshot.lease},
      {"leaseTransitions", snapshot.observed ? snapshot.observed->lease_transitions : 0},
      {"status", snapshot.status},
  };
  if (snapshot.observed) {
    if (snapshot.observed->acquire_time)
      body["acquireTime"] = util::format_micro_time(*snapshot.observed->acquire_time);
    if (snapshot.observed->renew_time)
      body["renewTime"] = util::format_micro_time(*snapshot.observed->renew_time);
  }
  if (now.valid_for) {
    // Floor, so the app never believes in a millisecond it does not have.
    body["validForMs"] = std::chrono::floor<std::chrono::milliseconds>(*now.valid_for).count();
    body["validUntil"] = util::format_micro_time(util::to_micro(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(now.wall_now + *now.valid_for)));
  }
  return body;
}

std::string liveness_failure(const ElectionSnapshot& snapshot, election::BootTime boot_now) {
  if (snapshot.alive_until == election::BootTime{}) return "the election loop has not started";
  const auto late = std::chrono::floor<std::chrono::milliseconds>(boot_now - snapshot.alive_until);
  return "the election loop is " + std::to_string(late.count()) +
         " ms past the time it promised to report by";
}

}  // namespace

std::shared_ptr<RouteTable> make_election_route_table(const election::SnapshotBoard& board,
                                                      const election::Clock& clock) {
  auto routes = std::make_shared<RouteTable>();

  routes->get("/leader", [&board, &clock](const Request&) {
    const auto snapshot = board.current();
    return json_ok(200, leader_body(*snapshot, Leadership(*snapshot, clock)));
  });

  // Exactly {"name": ...}: apps written against the classic leader-elector sidecar
  // (k8s.gcr.io/leader-elector) compare this field with their own pod name.
  routes->get("/", [&board](const Request&) {
    const auto snapshot = board.current();
    return json_ok(200,
                   json{{"name", snapshot->observed ? snapshot->observed->holder_identity : std::string{}}});
  });

  // Liveness judges only the election loop itself: an unreachable API server is no reason to
  // restart the pod (a restart would not fix it), and the loop keeps promising while it retries.
  routes->get("/healthz", [&board, &clock](const Request&) {
    const auto snapshot = board.current();
    const auto boot_now = clock.boot_now();
    if (snapshot->alive(boot_now)) return json_ok(200, json{{"status", "ok"}});
    return json_ok(503, json{{"status", "unhealthy"}, {"reason", liveness_failure(*snapshot, boot_now)}});
  });

  routes->get("/readyz", [&board, &clock](const Request&) {
    const auto snapshot = board.current();
    const Leadership now(*snapshot, clock);
    return json_ok(now.leading() ? 200 : 503,
                   json{{"isLeader", now.leading()}, {"status", snapshot->status}});
  });

  return routes;
}

}  // namespace le::http
