// A step-down on request (POST /step-down, SIGUSR1, a failing app): the leader stops reporting
// leadership at once, renews through the release delay, releases, and does not campaign for the
// hold-off. Split brain: the stepped-down replica never reports leadership again for that term,
// not even when the release fails and its record stays in the Lease (it is waited out like anyone
// else's), and the randomized run in test_elector.cpp steps leaders down at random moments.
#include <doctest/doctest.h>

#include <optional>

#include "elector_harness.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::ApiErrorKind;
using le::testing::FakeLeaseServer;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::Replica;

namespace {

// Ticks a replica for `span` of its time (each tick's own delay, never past the end).
void run_for(Replica& r, nanoseconds span) {
  const auto until = r.clock.boot_now() + span;
  while (r.clock.boot_now() < until) {
    const auto delay = r.elector.tick();
    r.clock.advance(std::min<nanoseconds>(delay, until - r.clock.boot_now()));
  }
}

// A leads a released Lease, B follows it.
struct LeaderAndFollower {
  LeaderAndFollower() {
    server.external_write(held_by(""));
    a.elector.tick();
    REQUIRE(a.leads());
    b.elector.tick();
    REQUIRE_FALSE(b.leads());
  }
  FakeLeaseServer server;
  Replica a{server, "a"};
  Replica b{server, "b"};
};

}  // namespace

TEST_CASE("a step-down hides leadership at once, renews through the release delay, then releases") {
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  CHECK(*term == w.a.board.current()->term);
  CHECK_FALSE(w.a.leads());  // before the election thread has even heard of it
  CHECK(w.a.board.current()->status_at(w.a.clock.boot_now(), w.a.clock.wall_now()) == "stepping down");

  REQUIRE(w.a.elector.step_down(*term, 1s, 30s));
  CHECK_FALSE(w.a.elector.is_leader());
  CHECK(w.a.elector.holds());
  // Through the release delay the Lease stays ours and renewed, so nobody takes over while the app,
  // told it leads until now, stops its leader work; the replica says it is not leading all along.
  const auto renewed_before = w.server.record->renew_time;
  w.a.clock.advance(500ms);
  const auto delay = w.a.elector.tick();
  CHECK(delay == 500ms);  // the release comes on time, whatever the retry period says
  CHECK(w.server.record->holder_identity == "a");
  CHECK(w.server.record->renew_time != renewed_before);
  CHECK_FALSE(w.a.leads());
  w.a.clock.advance(delay);
  w.a.elector.tick();
  // Released as client-go releases: no holder, a one-second lease.
  CHECK(w.server.record->holder_identity.empty());
  CHECK(w.server.record->lease_duration == 1s);
  CHECK_FALSE(w.a.leads());
  CHECK(w.a.board.current()->status == "stepped down");

  // The follower takes the released Lease at its next tick.
  w.b.clock.advance(1s);
  w.b.elector.tick();
  CHECK(w.b.leads());
}

TEST_CASE("after a step-down the replica does not campaign until its hold-off is over") {
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  REQUIRE(w.a.elector.step_down(*term, 0s, 30s));
  w.a.elector.tick();  // the release is due at once
  REQUIRE(w.server.record->holder_identity.empty());

  // Nobody else takes it (B is gone): A leaves it free for the hold-off, then takes it.
  run_for(w.a, 29s);
  CHECK(w.server.record->holder_identity.empty());
  CHECK_FALSE(w.a.leads());
  run_for(w.a, 5s);
  CHECK(w.server.record->holder_identity == "a");
  CHECK(w.a.leads());
  CHECK(w.a.board.current()->term > *term);  // a new term, never the old one again
}

TEST_CASE("a hold-off of zero campaigns again right after the release") {
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  REQUIRE(w.a.elector.step_down(*term, 0s, 0s));
  w.a.elector.tick();
  REQUIRE(w.server.record->holder_identity.empty());
  run_for(w.a, 3s);
  CHECK(w.a.leads());
}

TEST_CASE("a replica that does not lead cannot step down, and nothing changes") {
  LeaderAndFollower w;
  CHECK_FALSE(w.b.board.withhold_leadership(w.b.clock));
  CHECK(w.b.board.current()->status_at(w.b.clock.boot_now(), w.b.clock.wall_now()) != "stepping down");
  CHECK(w.a.leads());
}

TEST_CASE("the board keeps the withheld term hidden across the election thread's publishes") {
  // The step-down request reaches the board at once and the loop only after a renewal under way:
  // that renewal's snapshot must not bring leadership back.
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  w.a.clock.advance(2s);
  w.a.elector.tick();  // renews and publishes, not knowing of the step-down
  CHECK(w.server.record->holder_identity == "a");
  CHECK_FALSE(w.a.leads());
  CHECK(w.a.board.current()->stepping_down);
}

TEST_CASE("a step-down for a term that has ended changes nothing but the hold-off") {
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  // Before the loop hears of it, the term is lost: someone writes over it.
  w.server.external_write(held_by("c"));
  w.a.clock.advance(2s);
  w.a.elector.tick();  // the renewal conflicts; A reads C's record
  REQUIRE_FALSE(w.a.elector.holds());
  CHECK_FALSE(w.a.elector.step_down(*term, 1s, 60s));
  // C's lease runs out; A still keeps out of the running for the hold-off.
  run_for(w.a, 40s);
  CHECK(w.server.record->holder_identity == "c");
  run_for(w.a, 25s);
  CHECK(w.server.record->holder_identity == "a");
}

TEST_CASE("a step-down that arrives after the renew deadline passed still hands the term back") {
  // The board hid the term while it led; before the loop heard of it, renewals failed until the
  // renew deadline passed. The record is still A's: the step-down must end that term, or A would
  // renew it again once the API server answers, leading in the Lease while reporting nobody leads.
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  for (int i = 0; i < 6; ++i) w.a.store.script({Fault::fail, ApiErrorKind::server_error, "update"});
  for (int i = 0; i < 6; ++i) {
    w.a.clock.advance(2s);
    w.a.elector.tick();
  }
  REQUIRE_FALSE(w.a.elector.holds());
  REQUIRE(w.server.record->holder_identity == "a");
  CHECK(w.a.elector.step_down(*term, 1s, 60s));
  run_for(w.a, 2s);
  // Released (the API server answers again), and never renewed under the withheld term.
  CHECK(w.server.record->holder_identity.empty());
  CHECK_FALSE(w.a.elector.is_leader());
  CHECK_FALSE(w.a.leads());
  w.b.clock.advance(2s);
  w.b.elector.tick();
  CHECK(w.b.leads());
}

TEST_CASE("a stepped-down term whose release failed is never renewed or reported again, only waited out") {
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  REQUIRE(w.a.elector.step_down(*term, 0s, 0s));
  w.a.store.script({Fault::fail, ApiErrorKind::server_error, "update"});
  w.a.elector.tick();  // the release fails: A's record stays in the Lease
  REQUIRE(w.server.record->holder_identity == "a");
  const auto left_behind = w.server.record->renew_time;
  // A treats its own record as anyone else's: it neither renews it nor leads, and takes the Lease
  // only once it has expired (15 s after A last saw it change), as a new term.
  for (int i = 0; i < 6; ++i) {
    w.a.clock.advance(2s);
    w.a.elector.tick();
    CHECK_FALSE(w.a.leads());
    CHECK(w.server.record->renew_time == left_behind);
  }
  run_for(w.a, 10s);
  CHECK(w.a.leads());
  CHECK(w.a.board.current()->term > *term);
  CHECK(w.server.record->lease_transitions == 2);  // B never took it; A's second term
}

TEST_CASE("a step-down during the release delay of a shutdown releases once, at the step-down's time") {
  LeaderAndFollower w;
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  REQUIRE(w.a.elector.step_down(*term, 1s, 30s));
  CHECK(w.a.elector.step_down_release_at() == w.a.clock.boot_now() + 1s);
  w.a.elector.begin_stopping(w.a.clock.boot_now() + 25s);
  w.a.clock.advance(1s);
  w.a.elector.tick();
  CHECK(w.server.record->holder_identity.empty());
  CHECK_FALSE(w.a.elector.release());  // the shutdown's own release finds nothing left to hand back
}

TEST_CASE("a replica that is not a candidate takes no free Lease, and takes it once it is one") {
  // --app-health-url: a replica whose app is unhealthy does not campaign.
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.set_candidate(false, "the app's health check fails (503)");
  run_for(a, 60s);
  CHECK(server.record->holder_identity.empty());
  CHECK_FALSE(a.leads());
  CHECK(a.board.current()->status == "not campaigning: the app's health check fails (503)");
  a.elector.set_candidate(true);
  a.elector.tick();
  CHECK(a.leads());
}

TEST_CASE("a replica that is not a candidate does not create a missing Lease either") {
  FakeLeaseServer server;
  Replica a(server, "a");
  a.elector.set_candidate(false, "the app's health check has not passed yet");
  run_for(a, 60s);  // far past the wait for a missing Lease
  CHECK_FALSE(server.record.has_value());
  a.elector.set_candidate(true);
  run_for(a, 15s);  // the create, then the wait after it
  CHECK(a.leads());
}

TEST_CASE("a leader that stops being a candidate keeps its term until it steps down") {
  // The health check's verdict makes the sidecar step down (POST-like): candidacy alone only keeps
  // a replica from starting a term, it never ends one behind the app's back.
  LeaderAndFollower w;
  w.a.elector.set_candidate(false, "the app's health check fails (503)");
  w.a.clock.advance(2s);
  w.a.elector.tick();
  CHECK(w.a.leads());
  const auto term = w.a.board.withhold_leadership(w.a.clock);
  REQUIRE(term);
  REQUIRE(w.a.elector.step_down(*term, 0s, 0s));
  w.a.elector.tick();
  REQUIRE(w.server.record->holder_identity.empty());
  run_for(w.a, 30s);  // no hold-off, but not a candidate: the Lease stays free for B
  CHECK(w.server.record->holder_identity.empty());
}
