#pragma once
// The sidecar's endpoints, read from the election's published snapshot:
//   GET /leader   who leads, whether this replica does and for how much longer
//   GET /         {"name": holder}, what the classic k8s leader-elector sidecar answered
//   GET /healthz  liveness: the election loop keeps its promise to come round again
//   GET /readyz   200 only while this replica leads, so only the leader is Ready
#include <memory>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/route_table.h"

namespace le::http {

// `board` and `clock` must outlive the routes.
std::shared_ptr<RouteTable> make_election_route_table(const election::SnapshotBoard& board,
                                                      const election::Clock& clock);

}  // namespace le::http
