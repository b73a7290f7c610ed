// The election state machine against a fake clock and an in-memory Lease: every scenario the issue
// lists, and a randomized multi-replica run that checks there is never more than one leader.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
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
using le::election::SnapshotBoard;
using le::testing::apply_lease_event;
using le::testing::default_config;
using le::testing::FakeClock;
using le::testing::FakeLeaseServer;
using le::testing::FakeLeaseStore;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::lease_allows;
using le::testing::maybe_export;
using le::testing::pick;
using le::testing::RandomEvent;
using le::testing::Replica;
using le::testing::ScriptedFault;
using le::testing::seed_range;

namespace {

// Runs ticks of one replica until `limit` of its time has passed; returns the time taken until it
// led, or nullopt.
std::optional<nanoseconds> run_until_leading(Replica& r, nanoseconds limit) {
  nanoseconds elapsed{0};
  while (elapsed <= limit) {
    const auto delay = r.elector.tick();
    if (r.leads()) return elapsed;
    r.clock.advance(delay);
    elapsed += delay;
  }
  return std::nullopt;
}

}  // namespace

// The first read finds a record nobody holds any longer; one tick takes it. A list of the records
// found and the leaseTransitions expected after (client-go's leaderelection_test.go is such a list).
TEST_CASE("a first read that finds no live holder takes the Lease in one tick") {
  struct Case {
    const char* name;
    LeaderRecord observed;
    int transitions_after;
  };
  const Case cases[] = {
      // "" stands for absent and null too: the kube layer maps all three to "" (tested there).
      {"released by client-go: holder \"\", one-second lease", held_by("", 1s, 4), 5},
      {"holder empty, no duration at all", held_by("", std::nullopt, 4), 5},
      {"a holder without leaseDurationSeconds counts as already expired", held_by("other", std::nullopt, 7),
       8},
      {"leaseTransitions stops at the largest int32 instead of overflowing",
       held_by("", 1s, std::numeric_limits<std::int32_t>::max()), std::numeric_limits<std::int32_t>::max()},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    FakeLeaseServer server;
    server.external_write(c.observed);
    Replica a(server, "a");
    a.elector.tick();
    CHECK(a.leads());
    CHECK(server.record->holder_identity == "a");
    CHECK(server.record->lease_duration == 15s);
    CHECK(server.record->lease_transitions == c.transitions_after);
    CHECK(server.record->acquire_time == server.record->renew_time);
  }
}

TEST_CASE("respects a live holder and takes over only once its lease expired by local observation") {
  FakeLeaseServer server;
  server.external_write(held_by("other", 15s, 2));
  Replica a(server, "a");
  a.elector.tick();
  CHECK_FALSE(a.leads());
  CHECK(server.record->holder_identity == "other");

  a.clock.advance(14'999ms);
  a.elector.tick();
  CHECK_FALSE(a.leads());
  CHECK(server.record->holder_identity == "other");

  a.clock.advance(1ms);  // 15 s after it first saw this record
  a.elector.tick();
  CHECK(a.leads());
  CHECK(server.record->holder_identity == "a");
  CHECK(server.record->lease_transitions == 3);
}

TEST_CASE("the expiry clock restarts whenever the record changes, not on label edits") {
  FakeLeaseServer server;
  server.external_write(held_by("other"));
  Replica a(server, "a");
  a.elector.tick();
  a.clock.advance(10s);
  auto renewed = held_by("other");
  renewed.renew_time = le::util::WallTime{seconds{1'699'999'010}};
  server.external_write(renewed);  // the holder renewed
  a.elector.tick();
  a.clock.advance(10s);
  server.edit_labels(R"({"team":"x"})");  // bumps the resourceVersion only
  a.elector.tick();
  CHECK_FALSE(a.leads());  // 10 s after the renewal
  a.clock.advance(5s);
  a.elector.tick();
  CHECK(a.leads());  // 15 s after the renewal, though only 5 s after the label edit
}

TEST_CASE("the leader renews with one conditional update per retry period") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  CHECK(a.elector.tick() == 2s);
  REQUIRE(a.leads());
  const auto acquired = server.record->acquire_time;
  const int requests_after_acquire = a.store.requests;
  for (int i = 0; i < 5; ++i) {
    a.clock.advance(2s);
    CHECK(a.elector.tick() == 2s);
    CHECK(a.leads());
  }
  CHECK(a.store.requests == requests_after_acquire + 5);  // no GET between renewals
  CHECK(server.log.back() == "a update");
  CHECK(server.record->acquire_time == acquired);
  CHECK(server.record->renew_time == le::util::to_micro(a.clock.wall_now()));
  CHECK(server.record->lease_transitions == 1);  // one term
  // validForMs counts from the send time of the last successful renewal.
  CHECK(a.valid_for() == 10s);
}

TEST_CASE("a leader that loses a conflict stops leading before it re-reads") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  // Another writer takes the Lease (say, an operator forcing a hand-over).
  server.external_write(held_by("intruder", 15s, 9));
  bool led_when_rereading = true;
  a.store.before_request = [&](const std::string& verb) {
    if (verb == "get") led_when_rereading = a.leads();
  };
  a.clock.advance(2s);
  a.elector.tick();
  CHECK_FALSE(led_when_rereading);
  CHECK_FALSE(a.leads());
  CHECK(server.record->holder_identity == "intruder");
}

TEST_CASE("a renewal conflict caused by a label edit costs no leadership term") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  server.edit_labels(R"({"owner":"ops"})");
  a.clock.advance(2s);
  a.elector.tick();
  CHECK(a.leads());
  CHECK(server.record->holder_identity == "a");
  CHECK(server.record->lease_transitions == 1);
}

TEST_CASE("the leader steps down at the renew deadline, before any follower may take over") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  Replica b(server, "b");
  a.elector.tick();
  REQUIRE(a.leads());
  const auto last_success = a.clock.boot_now();
  b.clock.advance(1ms);
  b.elector.tick();  // b sees a's record
  REQUIRE_FALSE(b.leads());

  // From now on a's requests fail (the API server is unreachable for a).
  for (int i = 0; i < 20; ++i) a.store.script({Fault::fail, ApiErrorKind::network, ""});
  nanoseconds t{0};
  while (t < 10s) {
    const auto step = std::min<nanoseconds>(a.elector.tick(), 10s - t);
    CHECK(a.leads());
    a.clock.advance(step);
    b.clock.advance(step);
    t += step;
  }
  CHECK(a.clock.boot_now() == last_success + 10s);
  CHECK_FALSE(a.leads());  // exactly at send time + renew deadline
  // b, judging by its own observation, still waits about five more seconds.
  b.elector.tick();
  CHECK_FALSE(b.leads());
  a.clock.advance(4'999ms);
  b.clock.advance(4'999ms);
  b.elector.tick();
  CHECK_FALSE(b.leads());
  a.clock.advance(2ms);
  b.clock.advance(2ms);
  b.elector.tick();
  CHECK(b.leads());
  CHECK_FALSE(a.leads());
}

TEST_CASE("a slow answer does not stretch leadership: the deadline counts from the send time") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.store.before_request = [&](const std::string& verb) {
    if (verb == "update") a.clock.advance(3s);  // the answer takes 3 s to arrive
  };
  a.elector.tick();
  REQUIRE(a.leads());
  CHECK(a.valid_for() == 7s);
}

TEST_CASE("release on stop hands the Lease over with client-go's release record") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 3));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  a.elector.begin_stopping(a.clock.boot_now() + 25s);
  CHECK_FALSE(a.leads());  // at once, before the release delay
  a.clock.advance(2s);
  a.elector.tick();  // still renews while stopping
  CHECK(server.record->holder_identity == "a");
  CHECK(a.elector.holds());
  CHECK(a.elector.release());
  CHECK(server.record->holder_identity.empty());
  CHECK(server.record->lease_duration == 1s);
  CHECK(server.record->lease_transitions == 4);
  CHECK(server.record->acquire_time == le::util::to_micro(a.clock.wall_now()));
  CHECK(server.record->renew_time == server.record->acquire_time);
  CHECK_FALSE(a.leads());

  Replica b(server, "b");
  b.elector.tick();
  CHECK(b.leads());  // takes over at once, no expiry wait
  CHECK(server.record->lease_transitions == 5);
}

TEST_CASE("a stopping replica never acquires") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.begin_stopping(a.clock.boot_now() + 25s);
  a.elector.tick();
  CHECK(server.record->holder_identity.empty());
  CHECK_FALSE(a.elector.release());
}

TEST_CASE("no release once deposed: a late release never touches the new holder's record") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());

  SUBCASE("deposed after the deadline passed") {
    a.clock.advance(11s);  // a stalled past its deadline; meanwhile b took over
    server.external_write(held_by("b", 15s, 2));
    a.elector.begin_stopping(a.clock.boot_now() + 25s);
    CHECK_FALSE(a.elector.release());
  }
  SUBCASE("deposed within the deadline: the 409 re-read shows another holder") {
    server.external_write(held_by("b", 15s, 2));
    a.elector.begin_stopping(a.clock.boot_now() + 25s);
    CHECK_FALSE(a.elector.release());
  }
  CHECK(server.record->holder_identity == "b");
  CHECK(server.record->lease_transitions == 2);
}

TEST_CASE("release after a 409 caused by someone editing a label") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  server.edit_labels(R"({"edited":"yes"})");
  a.elector.begin_stopping(a.clock.boot_now() + 25s);
  CHECK(a.elector.release());
  CHECK(server.record->holder_identity.empty());
  CHECK(server.labels == R"({"edited":"yes"})");
}

TEST_CASE("leaseTransitions grows by one per term, never per renewal") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 0));
  Replica a(server, "a");
  Replica b(server, "b");
  a.elector.tick();
  for (int i = 0; i < 3; ++i) {
    a.clock.advance(2s);
    a.elector.tick();
  }
  CHECK(server.record->lease_transitions == 1);
  a.elector.begin_stopping(a.clock.boot_now() + 25s);
  a.elector.release();
  CHECK(server.record->lease_transitions == 1);
  b.elector.tick();
  CHECK(server.record->lease_transitions == 2);
  b.clock.advance(2s);
  b.elector.tick();
  CHECK(server.record->lease_transitions == 2);
}

TEST_CASE("a record under our identity written by an earlier process is someone else's") {
  // A restarted container, or a force-deleted StatefulSet Pod whose old containers still run.
  FakeLeaseServer server;
  server.external_write(held_by("a", 15s, 6));
  Replica a(server, "a");
  a.elector.tick();
  CHECK_FALSE(a.leads());
  CHECK(server.record->renew_time == held_by("a").renew_time);  // not renewed in its name
  a.clock.advance(14s);
  a.elector.tick();
  CHECK_FALSE(a.leads());
  a.clock.advance(1s);
  a.elector.tick();
  CHECK(a.leads());
  CHECK(server.record->lease_transitions == 7);  // a new term
  CHECK(server.record->acquire_time == le::util::to_micro(a.clock.wall_now()));
}

TEST_CASE("two live processes with one identity never both lead") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica first(server, "same");
  Replica second(server, "same");
  first.elector.tick();
  REQUIRE(first.leads());
  for (int i = 0; i < 20; ++i) {
    first.clock.advance(2s);
    second.clock.advance(2s);
    first.elector.tick();
    second.elector.tick();
    CHECK_FALSE((first.leads() && second.leads()));
    CHECK(first.leads());
  }
}

TEST_CASE("an acquire whose answer was lost is recognised as ours on the next read") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 1));
  Replica a(server, "a");
  a.store.script({Fault::apply_then_lose, ApiErrorKind::timeout, "update"});
  a.elector.tick();
  CHECK_FALSE(a.leads());  // unknown outcome: not leading
  CHECK(server.record->holder_identity == "a");
  const auto acquired = server.record->acquire_time;
  a.clock.advance(2s);
  a.elector.tick();
  CHECK(a.leads());  // renewed its own record, same term
  CHECK(server.record->acquire_time == acquired);
  CHECK(server.record->lease_transitions == 2);
}

TEST_CASE("a renewal whose answer was lost keeps the deadline of the last known success") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  a.clock.advance(2s);
  a.store.script({Fault::apply_then_lose, ApiErrorKind::timeout, "update"});
  a.elector.tick();
  CHECK(a.leads());
  CHECK(a.valid_for() == 8s);  // counted from the acquire 2 s ago, not from the lost renewal
  a.clock.advance(2s);
  a.elector.tick();  // reads first, finds its record, renews
  CHECK(a.leads());
  CHECK(a.valid_for() == 10s);
  CHECK(server.record->lease_transitions == 1);
}

TEST_CASE("a missing Lease is created one lease duration after the 404, and led a renew deadline later") {
  FakeLeaseServer server;
  Replica a(server, "a");
  const auto start = a.clock.boot_now();
  while (!server.record) a.clock.advance(a.elector.tick());
  CHECK(a.clock.boot_now() - start >= 15s);  // created no earlier than one lease duration
  REQUIRE(run_until_leading(a, 60s));
  CHECK(a.clock.boot_now() - start >= 15s + 10s);
  CHECK(server.record->holder_identity == "a");
  CHECK(server.record->lease_transitions == 0);
}

TEST_CASE("the creator of a Lease does not lead while a leader of the deleted one may still") {
  // C created the Lease and leads; someone deletes it; B, whose 404 wait had already run out while
  // it never saw C's Lease, creates it at once.
  FakeLeaseServer server;
  Replica b(server, "b");
  Replica c(server, "c");
  b.elector.tick();  // B: 404, wait 15 s
  c.elector.tick();  // C: 404, wait 15 s
  b.clock.advance(15s);
  c.clock.advance(15s);
  c.elector.tick();  // C creates
  c.clock.advance(10s);
  b.clock.advance(10s);
  c.elector.tick();
  REQUIRE(c.leads());
  const auto c_deadline = c.clock.boot_now() + 10s;  // C leads until then at most
  server.remove();
  b.elector.tick();  // B never saw C's Lease: 404, wait over, creates
  REQUIRE(server.record->holder_identity == "b");
  CHECK_FALSE(b.leads());
  while (c.clock.boot_now() < c_deadline) {
    CHECK_FALSE((b.leads() && c.leads()));
    b.clock.advance(500ms);
    c.clock.advance(500ms);
  }
  CHECK_FALSE(c.leads());
  b.elector.tick();
  CHECK(b.leads());
}

TEST_CASE("a Lease deleted under a live holder") {
  FakeLeaseServer server;
  // The holder promised 40 s (say, a client-go peer with a longer lease duration).
  server.external_write(held_by("holder", 40s, 3));
  Replica seer(server, "seer");
  seer.elector.tick();  // saw the live holder at t=0
  seer.clock.advance(5s);
  server.remove();
  Replica newcomer(server, "newcomer");
  newcomer.clock = seer.clock;

  SUBCASE("a replica that saw the holder waits until that holder's lease runs out") {
    seer.elector.tick();  // 404 at t=5s: 5 + 15 = 20 s, but the holder's lease runs to 40 s
    nanoseconds t = 5s;
    while (t < 40s) {
      const auto d = seer.elector.tick();
      CHECK_FALSE(server.record.has_value());
      seer.clock.advance(d);
      t += d;
    }
    auto led_after = run_until_leading(seer, 30s);
    REQUIRE(led_after);
    CHECK(*led_after >= 10s);
  }
  SUBCASE("a replica that just started waits one lease duration after its 404") {
    newcomer.elector.tick();
    auto led_after = run_until_leading(newcomer, 60s);
    REQUIRE(led_after);
    CHECK(*led_after >= 15s + 10s);
  }
}

TEST_CASE("a leader whose Lease is deleted stops at its next renewal and recreates it only later") {
  // The renewal carries the uid it read; kube-apiserver makes that a UID precondition, so a PUT to the
  // deleted Lease is a 409, never a create (../shared/README.md, checked on kube-apiserver 1.20).
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  server.remove();
  a.clock.advance(2s);
  a.elector.tick();
  CHECK_FALSE(a.leads());
  CHECK_FALSE(server.record.has_value());
  auto led_after = run_until_leading(a, 60s);
  REQUIRE(led_after);
  CHECK(*led_after >= 15s + 10s);
}

TEST_CASE("a stale leader never reports isLeader=true") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());

  SUBCASE("its election loop stalls: the deadline passes without a tick") {
    a.clock.advance(10s);
    CHECK_FALSE(a.leads());
  }
  SUBCASE("a paused VM: the boot clock stopped, the wall clock was set right on resume") {
    a.clock.advance(1s);
    a.clock.step_wall(30s);
    CHECK_FALSE(a.leads());
  }
  SUBCASE("a wall-clock step forward (NTP) only shortens leadership") {
    a.clock.step_wall(9s);
    CHECK(a.valid_for() == 1s);
    a.clock.advance(1s);
    CHECK_FALSE(a.leads());
  }
  SUBCASE("a wall-clock step backwards does not lengthen it") {
    a.clock.step_wall(-1h);
    CHECK(a.valid_for() == 10s);
    a.clock.advance(10s);
    CHECK_FALSE(a.leads());
  }
}

TEST_CASE("failures back off: exponentially at start-up, jittered retry period afterwards") {
  FakeLeaseServer server;
  server.external_write(held_by("other"));
  ElectorConfig config = default_config("a");
  Replica a(server, config, 0.5);
  for (int i = 0; i < 6; ++i) a.store.script({Fault::fail, ApiErrorKind::network, "get"});
  std::vector<nanoseconds> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(a.elector.tick());
  CHECK(delays == std::vector<nanoseconds>{2s, 4s, 8s, 15s, 15s, 15s});  // capped at the lease duration
  a.elector.tick();                                                      // contact
  a.store.script({Fault::fail, ApiErrorKind::server_error, "get"});
  CHECK(a.elector.tick() == 3'200ms);  // 2 s * (1 + 1.2 * 0.5)

  SUBCASE("Retry-After is honoured up to the longest jittered wait") {
    struct RetryAfterStore final : le::election::LeaseStore {
      milliseconds retry_after;
      bool answered_once = false;
      explicit RetryAfterStore(milliseconds r) : retry_after(r) {}
      le::election::Result<le::election::StoredLease> get(milliseconds) override {
        if (!answered_once) {
          answered_once = true;
          return le::election::StoredLease{held_by("other"), "1", ""};
        }
        le::election::ApiError e;
        e.kind = ApiErrorKind::too_many_requests;
        e.http_status = 429;
        e.retry_after = retry_after;
        return e;
      }
      le::election::Result<le::election::StoredLease> create(const LeaderRecord&, milliseconds) override {
        return get(0ms);
      }
      le::election::Result<le::election::StoredLease> update(const le::election::StoredLease&,
                                                             const LeaderRecord&, milliseconds) override {
        return get(0ms);
      }
      std::string describe() const override { return "default/demo"; }
    };
    FakeClock clock;
    SnapshotBoard board;
    for (auto [retry_after, expected] : {std::pair{1s, 3'200ms}, {4s, 4s}, {60s, 4'400ms}}) {
      RetryAfterStore store(retry_after);
      Elector e(config, store, clock, board, [] { return 0.5; });
      e.tick();  // the first answer ends start-up
      CAPTURE(retry_after.count());
      CHECK(e.tick() == expected);
    }
  }
}

TEST_CASE("near the deadline a renewal keeps the whole request timeout: a late success still counts") {
  // A success counts from its send time, so an answer after the old deadline restores leadership;
  // cutting the request off at the deadline would only make the leader step down when it need not
  // (issue 10, part 5). request_timeout <= renew_deadline keeps any answer inside send + deadline.
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  CHECK(a.store.timeouts.back() == 5s);  // the request timeout
  for (int i = 0; i < 3; ++i) a.store.script({Fault::fail, ApiErrorKind::timeout, "update"});
  a.clock.advance(2s);
  a.elector.tick();
  a.clock.advance(4s);
  a.elector.tick();
  a.clock.advance(3s);
  a.elector.tick();
  CHECK(a.store.timeouts.back() == 5s);  // holding, 1 s left: still the request timeout
  a.clock.advance(500ms);
  // The next renewal is answered 3 s after it was sent, past the old deadline.
  a.store.before_request = [&](const std::string&) { a.clock.advance(3s); };
  a.elector.tick();
  CHECK(a.store.timeouts.back() == 5s);
  CHECK(a.leads());
  CHECK(a.valid_for() == 7s);  // counted from the send, 3 s ago
}

// ---------------------------------------------------------------------------------------------
// Randomized: replicas, faults, pauses, restarts, third-party writes. Time is global; each replica's
// clocks follow it unless that replica is paused. At every step at most one replica may report
// leadership.

namespace {

struct SimReplica {
  std::unique_ptr<Replica> replica;
  nanoseconds next_tick{0};
  nanoseconds paused_until{0};  // a paused VM: its boot clock stops
  bool frozen_process = false;  // SIGSTOP: clocks run, the loop does not
  // A wall clock that does not move while the boot clock runs, set right (by NTP) when it ends.
  // Never together with a pause: both clocks stopped at once is what no process can notice (README).
  nanoseconds wall_stuck_until{0};
  nanoseconds wall_behind{0};
  std::optional<le::testing::PendingStepDown> step_down;  // hidden on the board, not yet told the elector
};

// Rare interleavings need many seeds: a stop during the wait after a create, while a cut-off
// leader of the deleted Lease still leads, first shows at seed 762. The optimized build runs 1500
// in about 2 s; under the sanitizers (about 40 times slower) a tenth of them.
#if defined(__SANITIZE_ADDRESS__)
constexpr unsigned kRandomizedSeeds = 150;
#else
constexpr unsigned kRandomizedSeeds = 1500;
#endif

// The simulated world: the API server, the replicas, and global time. A replica's request may be
// slow: the others act between its send and the server applying it, and between that and its
// answer, while its own clocks run on (its HTTP side answers from its last snapshot meanwhile).
struct SimWorld {
  explicit SimWorld(unsigned seed) : rng(seed), replicas(4) {
    for (std::size_t i = 0; i < replicas.size(); ++i) start(replicas[i], "r" + std::to_string(i));
  }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
  nanoseconds due(const SimReplica& r) const { return std::max(r.next_tick, r.paused_until); }

  void start(SimReplica& s, const std::string& identity) {
    // Identities repeat across restarts, as Pod names of a StatefulSet do.
    s.replica = std::make_unique<Replica>(server, identity, uniform());
    s.replica->clock.advance(now);
    s.next_tick = now;
    s.paused_until = now;
    s.wall_stuck_until = now;
    s.wall_behind = nanoseconds{0};
    s.step_down.reset();
    SimReplica* self = &s;
    // Slow requests: others act before the server applies it, and before its answer arrives.
    s.replica->store.before_request = [this, self](const std::string&) { maybe_slow(*self); };
    s.replica->store.after_apply = [this, self](const std::string&) { maybe_slow(*self); };
  }
  void maybe_slow(SimReplica& s) {
    if (busy || uniform() >= 0.08) return;
    busy = &s;
    run_others_until(now + milliseconds{int(uniform() * 6'000)});
    busy = nullptr;
  }

  // Global time moves to `to` in steps, checking the invariant at each.
  void advance_to(nanoseconds to) {
    while (now < to) {
      const nanoseconds step_size = std::min<nanoseconds>(to - now, 250ms);
      now += step_size;
      for (auto& r : replicas) {
        if (now <= r.paused_until) {
          r.replica->clock.step_wall(step_size);  // boot stopped; wall set right on resume
        } else if (now <= r.wall_stuck_until) {
          r.replica->clock.advance_boot(step_size);
          r.wall_behind += step_size;
        } else {
          r.replica->clock.step_wall(r.wall_behind);
          r.wall_behind = nanoseconds{0};
          r.replica->clock.advance(step_size);
        }
      }
      check_invariant();
    }
  }
  void check_invariant() {
    int leaders = 0;
    std::string leader;
    for (auto& r : replicas) {
      if (r.replica->leads()) {
        ++leaders;
        leader = r.replica->elector.config().identity;
      }
    }
    if (leaders > 1) {
      // What led to it, for the one reading the failure.
      std::string story;
      for (std::size_t i = trace.size() > 40 ? trace.size() - 40 : 0; i < trace.size(); ++i)
        story += trace[i] + "\n";
      for (auto& r : replicas) {
        const auto snapshot = r.replica->board.current();
        story += r.replica->elector.config().identity + (r.replica->leads() ? " LEADS" : " follows") +
                 " status=" + snapshot->status + " term=" + std::to_string(snapshot->term) + "\n";
      }
      INFO(story);
      REQUIRE(leaders <= 1);
    }
    for (auto& r : replicas) REQUIRE_FALSE(le::testing::leads_behind_hidden_board(*r.replica, r.step_down));
    if (leaders == 1) ++leadership_samples;
    if (leaders == 1 && leader != last_leader) {
      ++transitions_seen;
      last_leader = leader;
    }
  }
  // While `busy` waits on its request: the others' ticks that fall due before `until`.
  void run_others_until(nanoseconds until) {
    for (;;) {
      SimReplica* next = nullptr;
      for (auto& r : replicas) {
        if (&r != busy && due(r) <= until && (!next || due(r) < due(*next))) next = &r;
      }
      if (!next) break;
      advance_to(due(*next));
      step(*next);
    }
    advance_to(until);
  }

  // One tick of a replica, after the random events that befall it or the world.
  void step(SimReplica& s) {
    ++steps;
    const double event = uniform();
    trace.push_back(
        std::to_string(duration_cast<milliseconds>(now).count()) + "ms " +
        s.replica->elector.config().identity +
        (busy ? " (while " + busy->replica->elector.config().identity + " waits)" : std::string{}) +
        " event=" + std::to_string(event).substr(0, 5) + " server=" +
        (server.record ? "'" + server.record->holder_identity + "' uid " + std::to_string(server.uid) +
                             " rv " + std::to_string(server.resource_version)
                       : std::string("none")));
    // Rows tried in order; the first one below the draw whose event is possible now happens.
    const RandomEvent what =
        pick({{0.04, RandomEvent::lost_answer},
              {0.06, RandomEvent::late_apply},
              {0.07, RandomEvent::applied_twice},
              {0.10, RandomEvent::server_error},
              {0.12, RandomEvent::pause},
              {0.125, RandomEvent::wall_clock_stuck},
              {0.14, RandomEvent::kill_and_restart},
              {0.15, RandomEvent::edit_labels},
              {0.16, RandomEvent::remove},
              {0.17, RandomEvent::reset_in_place},
              {0.18, RandomEvent::recreate_empty},
              {0.185, RandomEvent::restore_export},
              {0.20, RandomEvent::deliver_deferred},
              {0.215, RandomEvent::graceful_restart},
              {0.24, RandomEvent::cut_off},
              {0.25, RandomEvent::step_down}},
             event, [&](RandomEvent e) {
               switch (e) {
                 case RandomEvent::step_down:
                   return s.replica->leads();
                 case RandomEvent::pause:  // never together with a stuck wall clock (see SimReplica)
                   return now > s.wall_stuck_until;
                 case RandomEvent::wall_clock_stuck:
                   return now > s.paused_until;
                 case RandomEvent::kill_and_restart:
                 case RandomEvent::graceful_restart:  // not while its own request is in flight
                   return &s != busy;
                 default:
                   return lease_allows(e, server, exports);
               }
             });
    const auto draw = [this] { return uniform(); };
    le::testing::deliver_pending_step_down(*s.replica, s.step_down);
    if (!apply_lease_event(what, server, s.replica->store, exports, steps, draw)) {
      switch (what) {
        case RandomEvent::step_down:
          if (le::testing::begin_random_step_down(*s.replica, s.step_down, draw)) ++step_downs;
          break;
        case RandomEvent::pause:
          s.paused_until = now + milliseconds{int(uniform() * 30'000)};
          return;
        case RandomEvent::wall_clock_stuck:
          s.wall_stuck_until = now + milliseconds{int(uniform() * 20'000)};
          break;
        case RandomEvent::kill_and_restart:
          start(s, s.replica->elector.config().identity);  // under the same identity
          break;
        case RandomEvent::graceful_restart:
          s.replica->elector.begin_stopping(s.replica->clock.boot_now() + 25s);
          s.replica->elector.release();
          start(s, s.replica->elector.config().identity);
          break;
        default:
          break;
      }
    }
    maybe_export(server, exports, draw);
    const nanoseconds delay = s.replica->elector.tick();
    trace.back() += " -> " + s.replica->board.current()->status + " term " +
                    std::to_string(s.replica->board.current()->term) + " server='" +
                    (server.record ? server.record->holder_identity : "none") + "' rv " +
                    std::to_string(server.resource_version);
    s.next_tick = now + delay;
    check_invariant();
  }

  std::mt19937 rng;
  FakeLeaseServer server;
  std::vector<SimReplica> replicas;
  std::vector<LeaderRecord> exports;
  std::vector<std::string> trace;
  nanoseconds now{0};
  SimReplica* busy = nullptr;
  int steps = 0;
  int leadership_samples = 0;
  int transitions_seen = 0;
  int step_downs = 0;
  std::string last_leader;
};

}  // namespace

TEST_CASE("randomized: never two leaders, and a leader whenever the API allows one") {
  const auto [first, last] = seed_range(kRandomizedSeeds);
  int step_downs = 0;
  for (unsigned seed = first; seed <= last; ++seed) {
    CAPTURE(seed);
    SimWorld world(seed);
    while (world.steps < 3000) {
      auto& s = *std::min_element(world.replicas.begin(), world.replicas.end(),
                                  [&](auto& x, auto& y) { return world.due(x) < world.due(y); });
      world.advance_to(world.due(s));
      world.step(s);
    }
    // Liveness, coarsely: someone led for a good share of the run, and leadership moved.
    CHECK(world.leadership_samples > 0);
    CHECK(world.transitions_seen >= 1);
    step_downs += world.step_downs;
  }
  // The step-downs really happened (a few per seed), so the invariant was judged across them.
  MESSAGE(step_downs << " step-downs");
  if (last - first >= 10) CHECK(step_downs > int(last - first));
}

TEST_CASE("marking the board stopping ends leadership at once and sticks across publishes") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  CHECK(a.board.mark_stopping(a.clock));  // what the signal handler does, while the loop may be mid-request
  CHECK_FALSE(a.leads());
  a.clock.advance(2s);
  a.elector.tick();  // the loop has not seen the stop yet: it renews and publishes
  CHECK(server.record->holder_identity == "a");
  CHECK_FALSE(a.leads());
}

TEST_CASE("the wait after creating the Lease belongs to the term") {
  // C leads a Lease B never saw; it is deleted; B creates it. C may lead until its own deadline, so
  // B must not lead before (its create's send time) + renew deadline, whatever happens meanwhile.
  FakeLeaseServer server;
  Replica b(server, "b");
  b.elector.tick();  // 404: wait a lease duration
  b.clock.advance(15s);
  const auto create_sent = b.clock.boot_now();

  SUBCASE("the create applied but its answer was lost") {
    b.store.script({Fault::apply_then_lose, ApiErrorKind::timeout, "create"});
    b.elector.tick();
    REQUIRE(server.record->holder_identity == "b");
  }
  SUBCASE("a label edit makes a renewal conflict during the wait") {
    b.elector.tick();
    REQUIRE(server.record->holder_identity == "b");
    b.clock.advance(2s);
    server.edit_labels(R"({"x":"y"})");
  }
  while (b.clock.boot_now() < create_sent + 10s) {
    const auto delay = b.elector.tick();
    CHECK_FALSE(b.leads());
    b.clock.advance(std::min<nanoseconds>(delay, create_sent + 10s - b.clock.boot_now()));
  }
  b.elector.tick();
  CHECK(b.leads());
  CHECK(server.record->lease_transitions == 0);  // still the same term
}

TEST_CASE("a stop that arrives while an iteration waits on the API server starts no term") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.store.before_request = [&](const std::string& verb) {
    if (verb == "get") a.elector.request_stop(a.clock.boot_now() + 25s);  // SIGTERM lands during the read
  };
  a.elector.tick();
  CHECK(server.record->holder_identity.empty());
  CHECK_FALSE(a.elector.holds());

  SUBCASE("nor creates a missing Lease, and keeps its pace meanwhile") {
    server.remove();
    a.clock.advance(30s);
    CHECK(a.elector.tick() > 0s);
    a.clock.advance(30s);
    CHECK(a.elector.tick() > 0s);  // the wait is over, but a stop was asked for: no busy loop
    CHECK_FALSE(server.record.has_value());
  }
}

TEST_CASE("the board tells whether the app may have seen leadership when the stop came") {
  FakeLeaseServer server;
  Replica follower(server, "f");
  server.external_write(held_by("someone"));
  follower.elector.tick();
  CHECK_FALSE(follower.board.mark_stopping(follower.clock));
}

TEST_CASE("once shutting down, no request runs past the shutdown deadline") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  FakeLeaseStore store(server, "a");
  FakeClock clock;
  SnapshotBoard board;
  Elector e(default_config("a"), store, clock, board, [] { return 0.0; });
  e.tick();
  e.begin_stopping(clock.boot_now() + 1500ms);
  clock.advance(1s);
  e.tick();
  CHECK(store.timeouts.back() == 500ms);
  CHECK(e.release());
  CHECK(store.timeouts.back() == 500ms);
}

TEST_CASE("a replica stopped during the wait after its create lets the Lease expire, not go free") {
  // W leads a Lease that Y never saw; it is deleted and W is cut off, still leading until its own
  // deadline. Y creates the Lease, then gets SIGTERM before its wait is over. Releasing would hand
  // the Lease to Z at once, while W may still lead.
  FakeLeaseServer server;
  Replica y(server, "y");
  y.elector.tick();  // 404
  y.clock.advance(15s);
  y.elector.tick();  // creates; leads only 10 s later
  REQUIRE(server.record->holder_identity == "y");
  REQUIRE(y.elector.leads_from());
  y.clock.advance(500ms);
  y.elector.begin_stopping(y.clock.boot_now() + 25s);
  CHECK_FALSE(y.elector.release());
  CHECK(server.record->holder_identity == "y");

  Replica z(server, "z");
  z.clock = y.clock;
  z.elector.tick();
  CHECK_FALSE(z.leads());  // follows y's live record until it expires by z's own observation

  SUBCASE("once the wait is over, the release goes through") {
    y.clock.advance(4'500ms);
    y.elector.tick();  // renews while stopping
    y.clock.advance(5s);
    y.elector.tick();
    CHECK(y.elector.release());
    CHECK(server.record->holder_identity.empty());
  }
}

// ---------------------------------------------------------------------------------------------
// Issue 10: a Lease reset or created again under a live leader, the wait after a create counted
// from its answer, and smaller findings. Each case fails without its rule.

namespace {

LeaderRecord never_held_record() { return LeaderRecord{}; }  // the chart's `spec: {}`

// Steps both replicas' clocks in 250 ms steps for `span`, ticking each when it is due, and checks
// that they never both lead. Returns when `b` first led, relative to the start, if it did.
std::optional<nanoseconds> run_pair(Replica& a, Replica& b, nanoseconds span, nanoseconds& a_next,
                                    nanoseconds& b_next) {
  std::optional<nanoseconds> b_led;
  for (nanoseconds t{0}; t <= span; t += 250ms) {
    if (t >= a_next) a_next = t + a.elector.tick();
    if (t >= b_next) b_next = t + b.elector.tick();
    CHECK_FALSE((a.leads() && b.leads()));
    if (b.leads() && !b_led) b_led = t;
    a.clock.advance(250ms);
    b.clock.advance(250ms);
  }
  return b_led;
}

}  // namespace

TEST_CASE("a Lease reset or created again under a live leader: a follower waits a lease duration") {
  // L leads; its next renewals fail (cut off from the API server), so it leads until its renew
  // deadline. Someone resets the Lease in place or replaces it with the chart's `spec: {}`. F must
  // not take the free record until L must have stepped down: without the rule it takes it at once.
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica l(server, "l");
  Replica f(server, "f");
  l.elector.tick();
  REQUIRE(l.leads());
  f.elector.tick();
  REQUIRE_FALSE(f.leads());
  for (int i = 0; i < 10; ++i) l.store.script({Fault::fail, ApiErrorKind::network, ""});
  l.clock.advance(1s);
  f.clock.advance(1s);

  SUBCASE("reset in place (helm upgrade --force, kubectl replace): same uid") { server.reset_in_place(); }
  SUBCASE("deleted and created empty (kubectl replace --force): new uid") { server.recreate_empty(); }
  SUBCASE("replaced by an old export holding a release record (a new uid)") {
    // A release record is taken at once, but not in an object created under a live leader.
    LeaderRecord old_release = held_by("", 1s, 3);
    server.remove();
    server.external_write(old_release);
  }
  SUBCASE("deleted and created empty, and the follower saw only the 404") {
    server.remove();
    f.elector.tick();  // 404: the wait starts here
    server.external_write(never_held_record());
  }
  nanoseconds l_next{0}, f_next{0};
  const auto f_led = run_pair(l, f, 40s, l_next, f_next);
  REQUIRE(f_led);
  CHECK(*f_led >= 15s);  // one lease duration after F first saw the change
}

TEST_CASE("a free record that was never held is taken a lease duration after it was first seen") {
  // A new install: the chart creates the Lease with `spec: {}`. The cost is one lease duration.
  FakeLeaseServer server;
  server.external_write(never_held_record());
  Replica a(server, "a");
  const auto led = run_until_leading(a, 60s);
  REQUIRE(led);
  CHECK(*led >= 15s);
  CHECK(*led < 15s + 5s);

  SUBCASE("a release record is still taken at once") {
    a.elector.begin_stopping(a.clock.boot_now() + 25s);
    REQUIRE(a.elector.release());
    Replica b(server, "b");
    b.clock = a.clock;
    b.elector.tick();
    CHECK(b.leads());
  }
}

TEST_CASE("a holder with a longer lease than ours is waited out by its own duration after a reset") {
  FakeLeaseServer server;
  server.external_write(held_by("client-go-peer", 40s, 3));
  Replica f(server, "f");
  f.elector.tick();
  f.clock.advance(2s);
  server.reset_in_place();
  const auto led = run_until_leading(f, 120s);
  REQUIRE(led);
  CHECK(*led >= 40s);
}

TEST_CASE("our record in a Lease object we have never seen is someone else's") {
  // L led and its record was exported. L was cut off, M took over; then M was cut off too, and the
  // old export was restored (delete + create: a new uid, L's record, L's acquireTime). L comes back
  // and reads its own record. M still leads until its renew deadline: L must not renew the copy.
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica l(server, "l");
  Replica m(server, "m");
  l.elector.tick();
  REQUIRE(l.leads());
  const LeaderRecord exported = *server.record;
  m.elector.tick();
  // L is cut off; M takes over once L's lease expired by its own observation.
  for (nanoseconds t{0}; !m.leads(); t += 500ms) {
    REQUIRE(t < 60s);
    m.elector.tick();
    CHECK_FALSE((l.leads() && m.leads()));
    m.clock.advance(500ms);
    l.clock.advance(500ms);
  }
  m.clock.advance(1s);
  m.elector.tick();  // renews
  REQUIRE(m.leads());
  for (int i = 0; i < 40; ++i) m.store.script({Fault::fail, ApiErrorKind::network, ""});
  server.remove();
  server.external_write(exported);  // restored: a new object
  const auto renew_time_before = server.record->renew_time;
  nanoseconds l_next{0}, m_next{0};
  for (nanoseconds s{0}; s <= 12s; s += 250ms) {
    if (s >= l_next) l_next = s + l.elector.tick();
    if (s >= m_next) m_next = s + m.elector.tick();
    CHECK_FALSE((l.leads() && m.leads()));
    CHECK_FALSE(l.leads());
    l.clock.advance(250ms);
    m.clock.advance(250ms);
  }
  CHECK(server.record->renew_time == renew_time_before);  // L never renewed the copy
}

TEST_CASE("the wait after a create counts from its answer, not from its send") {
  // B's create is in flight while C (whose 404 wait also ran out, unseen by B) creates the Lease,
  // renews it once and is cut off; the Lease is deleted and only then B's create applies. C leads
  // from its answer + 10 s to its renewal's send + 10 s. Counting B's wait from its own send would
  // let B lead from send + 10 s, inside C's window.
  FakeLeaseServer server;
  Replica b(server, "b");
  Replica c(server, "c");
  b.elector.tick();
  c.elector.tick();
  b.clock.advance(15s);
  c.clock.advance(15s);
  bool in_flight = false;
  b.store.before_request = [&](const std::string& verb) {
    if (verb != "create" || in_flight) return;
    in_flight = true;
    c.elector.tick();  // 404, wait over: C creates
    REQUIRE(server.record->holder_identity == "c");
    b.clock.advance(2s);
    c.clock.advance(2s);
    c.elector.tick();  // C renews
    for (int i = 0; i < 40; ++i) c.store.script({Fault::fail, ApiErrorKind::network, ""});
    b.clock.advance(1s);
    c.clock.advance(1s);
    server.remove();
    b.clock.advance(1s);
    c.clock.advance(1s);
  };
  const auto b_sent = b.clock.boot_now();
  b.elector.tick();  // sends the create; it applies 4 s later
  REQUIRE(server.record->holder_identity == "b");
  nanoseconds b_next = b.clock.boot_now() - b_sent + 2s, c_next{0};
  std::optional<nanoseconds> b_led;
  for (nanoseconds t = b.clock.boot_now() - b_sent; t <= 30s; t += 250ms) {
    if (t >= b_next) b_next = t + b.elector.tick();
    if (t >= c_next) c_next = t + c.elector.tick();
    CHECK_FALSE((b.leads() && c.leads()));
    if (b.leads() && !b_led) b_led = t;
    b.clock.advance(250ms);
    c.clock.advance(250ms);
  }
  REQUIRE(b_led);
  CHECK(*b_led >= 4s + 10s);
}

TEST_CASE("a renewal that changes nothing on the server is no renewal") {
  // With a stuck wall clock the renewal's body equals the stored record: the server keeps the
  // version and sends no event, so no follower's expiry clock restarts. Counting it would stretch
  // leadership past what the followers grant.
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  const auto version = server.resource_version;
  a.clock.advance_boot(2s);  // the wall clock does not move
  a.elector.tick();
  CHECK(server.resource_version == version);
  CHECK(a.valid_for() <= 8s);  // still counted from the acquire
  a.clock.advance(2s);
  a.elector.tick();  // a real renewal
  CHECK(a.valid_for() == 10s);
}
