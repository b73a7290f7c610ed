#pragma once
// One sidecar process for the election tests (test_elector*.cpp): its own clocks, its connection to
// the shared in-memory Lease, its snapshot board and its elector, with the timing every scenario
// assumes unless it says otherwise (client-go's defaults: 15 s lease, 10 s renew deadline, 2 s
// retry period).
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "election/elector.h"
#include "fake_clock.h"
#include "fake_lease_store.h"

namespace le::testing {

inline election::ElectorConfig default_config(std::string identity) {
  election::ElectorConfig config;
  config.identity = std::move(identity);
  config.lease_duration = std::chrono::seconds{15};
  config.renew_deadline = std::chrono::seconds{10};
  config.retry_period = std::chrono::seconds{2};
  return config;
}

// A record held by `holder` (acquired and renewed at one fixed wall-clock instant); an empty holder
// is a free record that someone released or wrote empty.
inline election::LeaderRecord held_by(std::string holder,
                                      std::optional<std::chrono::seconds> duration = std::chrono::seconds{15},
                                      int transitions = 0) {
  election::LeaderRecord r;
  r.holder_identity = std::move(holder);
  r.lease_duration = duration;
  r.acquire_time = r.renew_time = util::WallTime{std::chrono::seconds{1'699'999'000}};
  r.lease_transitions = transitions;
  return r;
}

struct Replica {
  // `jitter` is what the elector's random source returns, every time.
  Replica(FakeLeaseServer& server, std::string identity, double jitter = 0.0)
      : Replica(server, default_config(std::move(identity)), jitter) {}
  Replica(FakeLeaseServer& server, election::ElectorConfig config, double jitter = 0.0)
      : store(server, config.identity), elector(config, store, clock, board, [jitter] { return jitter; }) {}

  bool leads() const { return board.current()->is_leader(clock); }
  // What an app polling /leader would read right now.
  std::optional<std::chrono::nanoseconds> valid_for() const {
    return board.current()->valid_for(clock.boot_now(), clock.wall_now());
  }

  // A watch event of the Lease; returns the elector's new plan, if it made one.
  std::optional<std::chrono::nanoseconds> event(election::LeaseEvent::Kind kind,
                                                std::optional<StoredLease> lease = std::nullopt) {
    return elector.on_lease_event(election::LeaseEvent{kind, std::move(lease), {}});
  }
  // Delivers every change of the Lease from history index `from` on; returns the last plan.
  std::optional<std::chrono::nanoseconds> catch_up(const FakeLeaseServer& server, std::size_t& from) {
    std::optional<std::chrono::nanoseconds> plan;
    for (; from < server.history.size(); ++from) {
      const auto& change = server.history[from];
      auto p =
          event(change.deleted ? election::LeaseEvent::Kind::deleted : election::LeaseEvent::Kind::changed,
                change.lease);
      if (p) plan = p;
    }
    return plan;
  }

  FakeClock clock;
  FakeLeaseStore store;
  election::SnapshotBoard board;
  election::Elector elector;
};

}  // namespace le::testing
