#pragma once
// The sidecar's endpoints, read from the election's published snapshot:
//   GET /leader          who leads, whether this replica does and for how much longer;
//                        ?index=N&wait=30s holds the answer until it differs from answer N (long poll)
//   GET /leader/stream   the same answers as server-sent events, one per change
//   GET /                {"name": holder}, what the classic k8s leader-elector sidecar answered
//   GET /healthz         liveness: the election loop keeps its promise to come round again
//   GET /readyz          200 only while this replica leads, so only the leader is Ready
#include <algorithm>
#include <chrono>
#include <memory>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/leader_feed.h"
#include "http/route_table.h"

namespace le::http {

// The longest a long poll is held, whatever `wait` asks for, and the wait when it names none.
inline constexpr std::chrono::minutes kMaxLongPollWait{5};
inline constexpr std::chrono::seconds kDefaultLongPollWait{30};
// An event stream sends a comment line this often when nothing changes, so proxies and load
// balancers in between do not close it as idle, and a client that went away is noticed.
inline constexpr std::chrono::seconds kStreamKeepAlive{15};

// A pushed answer's validUntilBoottimeNs is the deadline known when it was sent, and a renewal is
// no news (the index stays). So that an app that follows the push never holds a deadline that has
// passed while this replica still leads, a leader's long poll is answered, and its stream re-sends
// the current answer (same id), halfway to the end of the validity the last answer gave: but not
// sooner than kMinRefresh, unless leadership ends sooner (then at its end, which is news).
inline constexpr std::chrono::milliseconds kMinRefresh{100};
inline std::chrono::nanoseconds refresh_after(std::chrono::nanoseconds valid_for) {
  return std::min<std::chrono::nanoseconds>(valid_for,
                                            std::max<std::chrono::nanoseconds>(valid_for / 2, kMinRefresh));
}

// `board` and `clock` must outlive the routes; `feed` reads the same board and clock.
std::shared_ptr<RouteTable> make_election_route_table(const election::SnapshotBoard& board,
                                                      const election::Clock& clock,
                                                      const std::shared_ptr<LeaderFeed>& feed);

}  // namespace le::http
