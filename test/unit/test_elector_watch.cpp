// The election with a watch of its Lease: followers act on events instead of polling, the leader
// steps down at once on anyone else's write, and nothing a watch delivers (late, old, lost,
// reordered by a reconnect) can make two replicas lead. A randomized run checks the last part.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>

#include "elector_harness.h"
#include "random_events.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::ApiErrorKind;
using le::election::Elector;
using le::election::ElectorConfig;
using le::election::LeaderRecord;
using le::election::LeaseEvent;
using le::election::SnapshotBoard;
using le::election::StoredLease;
using le::testing::apply_lease_event;
using le::testing::default_config;
using le::testing::FakeLeaseServer;
using le::testing::FakeLeaseStore;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::lease_allows;
using le::testing::maybe_export;
using le::testing::pick;
using le::testing::RandomEvent;
using le::testing::seed_range;

namespace {

// The watch tests' replicas draw 0.5 from their random source, not the harness's 0.0.
struct Replica : le::testing::Replica {
  Replica(FakeLeaseServer& server, ElectorConfig config, double random = 0.5)
      : le::testing::Replica(server, std::move(config), random) {}
  explicit Replica(FakeLeaseServer& server, std::string identity, double random = 0.5)
      : le::testing::Replica(server, std::move(identity), random) {}
};

LeaderRecord released() {
  LeaderRecord r;
  r.lease_duration = 1s;
  r.acquire_time = r.renew_time = le::util::WallTime{seconds{1'699'999'500}};
  return r;
}

// A follower of an external holder, with its watch up and caught up.
struct WatchingFollower {
  FakeLeaseServer server;
  std::size_t seen = 0;
  std::unique_ptr<Replica> follower;
  WatchingFollower() {
    server.external_write(held_by("other"));
    follower = std::make_unique<Replica>(server, "me");
    follower->elector.tick();  // the first read
    follower->event(LeaseEvent::Kind::connected);
    seen = server.history.size();
  }
};

}  // namespace

TEST_CASE("a watching follower takes a released Lease at once, without reading it first") {
  WatchingFollower w;
  Replica& f = *w.follower;
  const int requests_before = f.store.requests;
  w.server.external_write(released());
  const auto plan = f.catch_up(w.server, w.seen);
  REQUIRE(plan);
  CHECK(*plan <= f.elector.config().acquire_spread);  // only the spread
  f.clock.advance(*plan);
  f.elector.tick();
  CHECK(f.leads());
  CHECK(f.store.requests == requests_before + 1);  // one update, no GET
  CHECK(w.server.log.back() == "me update");
}

TEST_CASE("a watching follower's spread ends if another follower takes the Lease first") {
  WatchingFollower w;
  Replica& f = *w.follower;
  w.server.external_write(released());
  REQUIRE(f.catch_up(w.server, w.seen));
  w.server.external_write(held_by("quicker"));  // another follower won, and its event came first
  const auto plan = f.catch_up(w.server, w.seen);
  REQUIRE(plan);
  CHECK(*plan > 14s);  // now waits for that holder's expiry
  const int requests_before = f.store.requests;
  f.clock.advance(1ms);
  CHECK_FALSE(f.leads());
  CHECK(f.store.requests == requests_before);
}

TEST_CASE("a watching follower makes no request while the leader renews, and takes over at expiry") {
  WatchingFollower w;
  Replica& f = *w.follower;
  const int requests_before = f.store.requests;
  // Ten renewals of the holder, two seconds apart: each event re-plans to its own expiry.
  std::optional<nanoseconds> plan;
  for (int i = 0; i < 10; ++i) {
    f.clock.advance(2s);
    auto record = held_by("other");
    record.renew_time = le::util::WallTime{seconds{1'699'999'100 + i}};
    w.server.external_write(record);
    plan = f.catch_up(w.server, w.seen);
    REQUIRE(plan);
    CHECK(*plan == 15s);  // the holder's leaseDurationSeconds from now
  }
  CHECK(f.store.requests == requests_before);
  // The holder crashes: no more events. The follower's timer fires at expiry, not a poll later.
  f.clock.advance(*plan - 1ms);
  CHECK_FALSE(f.leads());
  f.clock.advance(1ms);
  f.elector.tick();
  CHECK(f.leads());
  CHECK(f.store.requests == requests_before + 1);
}

TEST_CASE("the timer for an expiry is a check, not a verdict: a renewal it missed wins the race") {
  WatchingFollower w;
  Replica& f = *w.follower;
  const auto plan = f.catch_up(w.server, w.seen);
  (void)plan;
  // The holder renews, but the event is lost (a stalled stream): the follower's write at expiry
  // carries the old resourceVersion and fails; it reads and follows.
  auto record = held_by("other");
  record.renew_time = le::util::WallTime{seconds{1'699'999'900}};
  w.server.external_write(record);
  f.clock.advance(15s);
  f.elector.tick();
  CHECK_FALSE(f.leads());
  CHECK(w.server.record->holder_identity == "other");
}

TEST_CASE("the leader steps down on the event of anyone else's write, before its next renewal") {
  FakeLeaseServer server;
  server.external_write(released());
  Replica leader(server, "me");
  leader.elector.tick();
  REQUIRE(leader.leads());
  leader.event(LeaseEvent::Kind::connected);
  std::size_t seen = 1;
  CHECK_FALSE(leader.catch_up(server, seen));  // its own write's echo changes nothing
  CHECK(leader.leads());
  server.external_write(held_by("intruder"));
  const auto plan = leader.catch_up(server, seen);
  CHECK_FALSE(leader.leads());
  REQUIRE(plan);
  CHECK(*plan == 15s);  // it now follows the intruder
}

TEST_CASE("an older event, delivered late, changes nothing") {
  FakeLeaseServer server;
  server.external_write(released());
  Replica leader(server, "me");
  leader.elector.tick();
  leader.clock.advance(2s);
  leader.elector.tick();  // renewal
  REQUIRE(server.history.size() == 3);
  CHECK_FALSE(leader.event(LeaseEvent::Kind::changed, server.history[1].lease));
  CHECK(leader.leads());
  leader.clock.advance(2s);
  const int requests_before = leader.store.requests;
  leader.elector.tick();
  CHECK(leader.store.requests == requests_before + 1);  // still one PUT per renewal: no conflict
  CHECK(leader.leads());
}

TEST_CASE("an event never extends leadership: only the leader's own successful writes do") {
  FakeLeaseServer server;
  server.external_write(released());
  Replica leader(server, "me");
  leader.elector.tick();
  leader.event(LeaseEvent::Kind::connected);
  std::size_t seen = server.history.size();
  // Every renewal from now on is applied but its answer lost: the leader cannot know it renewed.
  for (int i = 0; i < 20; ++i) leader.store.script({Fault::apply_then_lose, ApiErrorKind::timeout, ""});
  nanoseconds elapsed{0};
  while (elapsed < 10s) {
    const auto delay = leader.elector.tick();
    leader.catch_up(server, seen);  // the echoes of the writes that did apply
    leader.clock.advance(delay);
    elapsed += delay;
  }
  CHECK_FALSE(leader.leads());  // past the renew deadline of its last known success
}

TEST_CASE("a Lease deleted under the leader: it steps down on the event") {
  FakeLeaseServer server;
  server.external_write(released());
  Replica leader(server, "me");
  leader.elector.tick();
  std::size_t seen = server.history.size();
  server.remove();
  const auto plan = leader.catch_up(server, seen);
  CHECK_FALSE(leader.leads());
  REQUIRE(plan);
  CHECK(*plan == 0ns);  // read now: the 404 starts the wait for a missing Lease
}

TEST_CASE("410 Expired makes a follower read the Lease at once, and a dropped watch brings back polling") {
  WatchingFollower w;
  Replica& f = *w.follower;
  auto plan = f.event(LeaseEvent::Kind::expired);
  REQUIRE(plan);
  CHECK(*plan == 0ns);
  int before = f.store.requests;
  f.elector.tick();
  CHECK(w.server.log.back() == "me get");
  CHECK(f.store.requests == before + 1);

  plan = f.event(LeaseEvent::Kind::disconnected);
  REQUIRE(plan);
  CHECK(*plan <= 2s * 2.2);  // client-go's jittered poll
  before = f.store.requests;
  f.elector.tick();
  f.elector.tick();
  CHECK(f.store.requests == before + 2);  // each tick reads again
}

TEST_CASE("versions that cannot be ordered: the follower reads, the leader ignores the event") {
  WatchingFollower w;
  Replica& f = *w.follower;
  StoredLease odd = w.server.stored();
  odd.resource_version = "not-a-number";
  auto plan = f.event(LeaseEvent::Kind::changed, odd);
  REQUIRE(plan);
  CHECK(*plan == 0ns);
  const int before = f.store.requests;
  f.elector.tick();
  CHECK(f.store.requests == before + 1);
  CHECK(w.server.log.back() == "me get");

  FakeLeaseServer server;
  server.external_write(released());
  Replica leader(server, "me");
  leader.elector.tick();
  StoredLease foreign = server.stored();
  foreign.record = held_by("someone");
  foreign.resource_version = "x";
  CHECK_FALSE(leader.event(LeaseEvent::Kind::changed, foreign));
  CHECK(leader.leads());  // its next conditional renewal decides
}

TEST_CASE("client-go v0.20 polling mode: the leader reads before every renewal") {
  FakeLeaseServer server;
  server.external_write(released());
  auto config = default_config("me");
  config.read_before_renew = true;
  Replica leader(server, config);
  leader.event(LeaseEvent::Kind::connected);  // ignored in this mode
  leader.elector.tick();
  REQUIRE(leader.leads());
  server.log.clear();
  for (int i = 0; i < 3; ++i) {
    leader.clock.advance(2s);
    leader.elector.tick();
  }
  CHECK(server.log ==
        std::vector<std::string>{"me get", "me update", "me get", "me update", "me get", "me update"});
}

TEST_CASE("a stopping follower never acquires from an event") {
  WatchingFollower w;
  Replica& f = *w.follower;
  f.elector.request_stop(f.clock.boot_now() + 25s);
  w.server.external_write(released());
  CHECK_FALSE(f.catch_up(w.server, w.seen));
  f.elector.tick();
  CHECK_FALSE(f.leads());
  CHECK(w.server.record->holder_identity.empty());
}

// Randomized: four replicas with watches that lag, drop, expire and reconnect, on top of the
// faults of the polling run (lost answers, failures, pauses, restarts, deletions, releases). At
// every instant at most one replica may report leadership.
namespace {

struct WatchedReplica {
  std::unique_ptr<Replica> replica;
  nanoseconds next_tick{0};
  nanoseconds paused_until{0};
  bool connected = false;
  std::size_t delivered = 0;                              // history index the watch has delivered up to
  std::optional<le::testing::PendingStepDown> step_down;  // hidden on the board, not yet told the elector
};

}  // namespace

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr unsigned kWatchSeeds = 150;
#else
constexpr unsigned kWatchSeeds = 1500;
#endif

TEST_CASE("randomized with watches: never two leaders") {
  const auto [first, last] = seed_range(kWatchSeeds);
  int step_downs = 0;
  for (unsigned seed = first; seed <= last; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    FakeLeaseServer server;
    std::vector<WatchedReplica> replicas(4);
    std::vector<LeaderRecord> exports;
    nanoseconds now{0};
    auto start = [&](WatchedReplica& s, std::string identity) {
      auto config = default_config(std::move(identity));
      config.acquire_spread = 5ms;
      s.replica = std::make_unique<Replica>(server, config, uniform(rng));
      s.replica->clock.advance(now);
      s.next_tick = now;
      s.paused_until = now;
      s.connected = false;
      s.delivered = server.history.size();
      s.step_down.reset();
    };
    for (std::size_t i = 0; i < replicas.size(); ++i) start(replicas[i], "r" + std::to_string(i));
    int leadership_samples = 0;
    auto count_leaders = [&] {
      int leaders = 0;
      for (auto& r : replicas) {
        leaders += r.replica->leads() ? 1 : 0;
        CHECK_FALSE(le::testing::leads_behind_hidden_board(*r.replica, r.step_down));  // inside a REQUIRE
      }
      return leaders;
    };

    for (int step = 0; step < 3000; ++step) {
      auto& s = *std::min_element(replicas.begin(), replicas.end(), [](auto& x, auto& y) {
        return std::max(x.next_tick, x.paused_until) < std::max(y.next_tick, y.paused_until);
      });
      // Time moves in small steps so that events can arrive between ticks.
      const nanoseconds due = std::max(s.next_tick, s.paused_until);
      const nanoseconds target = std::min(due, now + milliseconds{1 + int(uniform(rng) * 3000)});
      while (now < target) {
        const nanoseconds step_size = std::min<nanoseconds>(target - now, 250ms);
        now += step_size;
        for (auto& r : replicas) {
          if (now <= r.paused_until) {
            r.replica->clock.step_wall(step_size);
          } else {
            r.replica->clock.advance(step_size);
          }
        }
        REQUIRE(count_leaders() <= 1);
        if (count_leaders() == 1) ++leadership_samples;
      }
      // Watches: deliver some of what is pending, or drop, expire, reconnect.
      for (auto& r : replicas) {
        if (now <= r.paused_until) continue;
        const double w = uniform(rng);
        std::optional<nanoseconds> plan;
        auto replan = [&](std::optional<nanoseconds> p) {
          if (p) plan = p;
        };
        if (!r.connected) {
          if (w < 0.3) {
            r.connected = true;
            // A resume may replay changes the replica has seen already, or skip ahead (410 path).
            if (uniform(rng) < 0.2) {
              replan(r.replica->event(LeaseEvent::Kind::expired));
              r.delivered = server.history.size();
            } else if (r.delivered > 0 && uniform(rng) < 0.3) {
              r.delivered -= 1 + std::size_t(uniform(rng) * std::min<std::size_t>(r.delivered, 3) * 0.99);
            }
            replan(r.replica->event(LeaseEvent::Kind::connected));
          }
        } else if (w < 0.05) {
          r.connected = false;
          replan(r.replica->event(LeaseEvent::Kind::disconnected));
        } else if (w < 0.8) {
          // Deliver a prefix of what is pending: a lagging stream.
          const std::size_t pending = server.history.size() - r.delivered;
          const std::size_t n = w < 0.6 ? pending : std::size_t(uniform(rng) * (pending + 1));
          for (std::size_t k = 0; k < n && r.delivered < server.history.size(); ++k, ++r.delivered) {
            const auto& change = server.history[r.delivered];
            replan(r.replica->event(change.deleted ? LeaseEvent::Kind::deleted : LeaseEvent::Kind::changed,
                                    change.lease));
            REQUIRE(count_leaders() <= 1);
          }
        }
        if (plan) r.next_tick = now + *plan;
      }
      if (now < due) continue;

      const double event = uniform(rng);
      // Rows tried in order; the first one below the draw whose event is possible now happens.
      const RandomEvent what = pick({{0.05, RandomEvent::lost_answer},
                                     {0.10, RandomEvent::server_error},
                                     {0.12, RandomEvent::pause},
                                     {0.14, RandomEvent::kill_and_restart},
                                     {0.16, RandomEvent::edit_labels},
                                     {0.17, RandomEvent::remove},
                                     {0.175, RandomEvent::reset_in_place},
                                     {0.18, RandomEvent::recreate_empty},
                                     {0.183, RandomEvent::restore_export},
                                     {0.19, RandomEvent::late_apply},
                                     {0.195, RandomEvent::deliver_deferred},
                                     {0.20, RandomEvent::graceful_restart},
                                     {0.23, RandomEvent::cut_off},
                                     {0.24, RandomEvent::step_down}},
                                    event, [&](RandomEvent e) {
                                      if (e == RandomEvent::step_down) return s.replica->leads();
                                      return lease_allows(e, server, exports);
                                    });
      const auto draw = [&] { return uniform(rng); };
      le::testing::deliver_pending_step_down(*s.replica, s.step_down);
      if (!apply_lease_event(what, server, s.replica->store, exports, step, draw)) {
        if (what == RandomEvent::step_down) {
          if (le::testing::begin_random_step_down(*s.replica, s.step_down, draw)) ++step_downs;
        } else if (what == RandomEvent::pause) {
          s.paused_until = now + milliseconds{int(uniform(rng) * 30'000)};
          continue;
        } else if (what == RandomEvent::kill_and_restart) {
          start(s, s.replica->elector.config().identity);
        } else if (what == RandomEvent::graceful_restart) {
          s.replica->elector.begin_stopping(s.replica->clock.boot_now() + 25s);
          s.replica->elector.release();
          start(s, s.replica->elector.config().identity);
        }
      }
      maybe_export(server, exports, draw);
      s.next_tick = now + s.replica->elector.tick();
      REQUIRE(count_leaders() <= 1);
    }
    CHECK(leadership_samples > 0);
  }
  // The step-downs really happened (a few per seed), so the invariant was judged across them.
  MESSAGE(step_downs << " step-downs");
  if (last - first >= 10) CHECK(step_downs > int(last - first));
}

TEST_CASE("an event from before a 404, replayed after it, neither restarts the wait nor starts a takeover") {
  // A watch that resumes from an old version may replay the Lease as it was before it was deleted.
  // Without the newest version kept across the 404, the follower takes that record for news: it
  // forgets the wait for the missing Lease and plans a takeover of a deleted record.
  WatchingFollower w;
  Replica& f = *w.follower;
  const StoredLease before_delete = w.server.stored();
  w.server.remove();
  w.follower->catch_up(w.server, w.seen);  // DELETED: the wait starts now
  f.elector.tick();                        // the 404
  REQUIRE_FALSE(w.server.record.has_value());
  f.clock.advance(5s);
  CHECK_FALSE(f.event(LeaseEvent::Kind::changed, before_delete));  // old news: no new plan
  CHECK(f.elector.observed_version() == w.server.history.back().lease.resource_version);
  // The Lease is created 15 s after the DELETED event, not later, and nothing else is written.
  const int updates_before = int(std::count(w.server.log.begin(), w.server.log.end(), "me update"));
  nanoseconds waited = 5s;
  while (!w.server.record) {
    const auto delay = f.elector.tick();
    f.clock.advance(delay);
    waited += delay;
    REQUIRE(waited < 40s);
  }
  CHECK(waited >= 15s);
  CHECK(waited <= 15s + 5s);
  CHECK(std::count(w.server.log.begin(), w.server.log.end(), "me update") == updates_before);
}
