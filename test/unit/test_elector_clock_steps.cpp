// Wall-clock steps (NTP, a VM resumed and set right) against the election: a step may only make a
// leader step down early, never keep one longer, and another holder's lease is judged on the
// monotonic boot clock only, whatever its renewTime string says.
#include <doctest/doctest.h>

#include "elector_harness.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::LeaderRecord;
using le::testing::FakeLeaseServer;
using le::testing::Replica;

namespace {

// A record renewed "now" by the holder's wall clock, which may differ from ours.
LeaderRecord held_by(std::string holder, le::util::WallTime renewed) {
  LeaderRecord r;
  r.holder_identity = std::move(holder);
  r.lease_duration = 15s;
  r.acquire_time = r.renew_time = renewed;
  return r;
}

le::util::WallTime micro(le::election::WallClockTime t) { return le::util::to_micro(t); }

}  // namespace

TEST_CASE("a follower judges another holder's lease on its boot clock, not on wall-clock time") {
  FakeLeaseServer server;
  Replica follower(server, "follower");
  server.external_write(held_by("holder", micro(follower.clock.wall_now())));
  follower.elector.tick();  // first sight of the record: the expiry clock starts here
  REQUIRE_FALSE(follower.leads());

  SUBCASE("our wall clock jumps an hour ahead: the holder's renewTime looks ancient, still no takeover") {
    follower.clock.step_wall(1h);
    follower.clock.advance(14s);
    follower.elector.tick();
    CHECK_FALSE(follower.leads());
    CHECK(server.record->holder_identity == "holder");
    follower.clock.advance(1s);  // 15 s of boot-clock time since the record last changed
    follower.elector.tick();
    CHECK(follower.leads());
  }
  SUBCASE("our wall clock jumps an hour back: the renewTime looks in the future, the wait is not longer") {
    follower.clock.step_wall(-1h);
    follower.clock.advance(15s);
    follower.elector.tick();
    CHECK(follower.leads());
    CHECK(server.record->holder_identity == "follower");
  }
  SUBCASE("the holder's renewTime string is far in the future (its clock is wrong): still 15 s") {
    server.external_write(held_by("holder", micro(follower.clock.wall_now() + 24h)));
    follower.elector.tick();  // the record changed: the expiry clock restarts
    follower.clock.advance(14s);
    follower.elector.tick();
    CHECK_FALSE(follower.leads());
    follower.clock.advance(1s);
    follower.elector.tick();
    CHECK(follower.leads());
  }
}

TEST_CASE("a wall-clock step can only shorten the leader's own term, in both directions") {
  FakeLeaseServer server;
  server.external_write(held_by("", micro(le::election::WallClockTime{seconds{1'699'999'000}})));
  Replica leader(server, "leader");
  leader.elector.tick();
  REQUIRE(leader.leads());
  REQUIRE(leader.valid_for() == 10s);

  SUBCASE("forward by 4 s: 6 s left, not 10") {
    leader.clock.step_wall(4s);
    CHECK(leader.valid_for() == 6s);
    leader.clock.advance(6s);
    CHECK_FALSE(leader.leads());
  }
  SUBCASE("backward by an hour: still 10 s by the boot clock, no more") {
    leader.clock.step_wall(-1h);
    CHECK(leader.valid_for() == 10s);
    leader.clock.advance(10s);
    CHECK_FALSE(leader.leads());
  }
  SUBCASE("a renewal after a backward step is judged from its own send time on both clocks") {
    leader.clock.step_wall(-1h);
    leader.clock.advance(2s);
    leader.elector.tick();  // renews
    REQUIRE(leader.leads());
    CHECK(leader.valid_for() == 10s);
    leader.clock.step_wall(1h);  // stepped back right: the wall clock now says the renewal is old
    CHECK_FALSE(leader.leads());
  }
}
