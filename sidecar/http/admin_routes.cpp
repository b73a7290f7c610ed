#include "http/admin_routes.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "election/timing_rules.h"
#include "util/duration.h"

namespace le::http {
namespace {

using nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

Response json_answer(unsigned status, const json& body) {
  auto response = json_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response step_down_route(const election::SnapshotBoard& board, const election::Clock& clock,
                         const AdminActions& actions, const Request& request) {
  std::chrono::nanoseconds hold_off = actions.default_hold_off;
  if (const auto text = request.query("holdoff")) {
    const auto parsed = util::parse_go_duration(*text);
    if (!parsed) {
      return json_error(400, "holdoff must be a duration such as 30s, 500ms or 2m", request.path());
    }
    if (const auto problem = election::timing::check_step_down_hold_off(*parsed)) {
      return json_error(400, "holdoff " + *problem, request.path());
    }
    hold_off = *parsed;
  }
  const auto term = actions.step_down(hold_off);
  if (!term) {
    // Nothing changed; say who leads, so the caller can ask that replica instead.
    const auto snapshot = board.current();
    json body = {{"error", "this replica does not lead"},
                 {"identity", snapshot->identity},
                 {"status", snapshot->status_at(clock.boot_now(), clock.wall_now())}};
    if (snapshot->observed && snapshot->observed->has_holder())
      body["leader"] = snapshot->observed->holder_identity;
    return json_answer(409, body);
  }
  // Accepted: leadership is no longer reported from this instant; the release follows.
  return json_answer(202, {{"steppedDown", true},
                           {"identity", board.current()->identity},
                           {"releaseDelayMs", duration_cast<milliseconds>(actions.release_delay).count()},
                           {"holdoffMs", duration_cast<milliseconds>(hold_off).count()}});
}

}  // namespace

std::shared_ptr<RouteTable> make_admin_route_table(const election::SnapshotBoard& board,
                                                   const election::Clock& clock, AdminActions actions) {
  auto routes = std::make_shared<RouteTable>();
  routes->add("POST", "/step-down", [&board, &clock, actions = std::move(actions)](const Request& request) {
    return step_down_route(board, clock, actions, request);
  });
  return routes;
}

}  // namespace le::http
