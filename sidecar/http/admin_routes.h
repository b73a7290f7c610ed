#pragma once
// The control listener's endpoints (--admin-http, loopback by default): what may change the
// election, kept off the main listener, which any Pod in the cluster may reach and which never
// accepts a POST.
//   POST /step-down?holdoff=30s   the leader stops reporting leadership at once, releases the Lease
//                                 after the release delay and does not campaign for the hold-off
//                                 (202); a replica that does not lead answers 409
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/route_table.h"

namespace le::http {

struct AdminActions {
  // Steps down if this replica leads at this instant (election::step_down); returns the term
  // stepped down from, nullopt when it does not lead.
  std::function<std::optional<std::uint64_t>(std::chrono::nanoseconds hold_off)> step_down;
  // The hold-off when the request names none (--step-down-holdoff).
  std::chrono::nanoseconds default_hold_off{std::chrono::seconds{30}};
  // --step-down-delay: how long the Lease is kept after the step-down, told to the caller.
  std::chrono::nanoseconds release_delay{std::chrono::seconds{1}};
};

// `board` and `clock` must outlive the routes.
std::shared_ptr<RouteTable> make_admin_route_table(const election::SnapshotBoard& board,
                                                   const election::Clock& clock, AdminActions actions);

}  // namespace le::http
