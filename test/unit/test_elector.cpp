// The election state machine against a fake clock and an in-memory Lease: every scenario the issue
// lists, and a randomized multi-replica run that checks there is never more than one leader.
#include <doctest/doctest.h>

#include <memory>
#include <random>

#include "election/elector.h"
#include "fake_clock.h"
#include "fake_lease_store.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::ApiErrorKind;
using le::election::Elector;
using le::election::ElectorConfig;
using le::election::LeaderRecord;
using le::election::SnapshotBoard;
using le::testing::FakeClock;
using le::testing::FakeLeaseServer;
using le::testing::FakeLeaseStore;
using le::testing::Fault;
using le::testing::ScriptedFault;

namespace {

ElectorConfig default_config(std::string identity) {
  ElectorConfig config;
  config.identity = std::move(identity);
  config.lease_duration = 15s;
  config.renew_deadline = 10s;
  config.retry_period = 2s;
  return config;
}

// One sidecar process: its own clocks, connection and elector.
struct Replica {
  Replica(FakeLeaseServer& server, std::string identity, double jitter = 0.0)
      : Replica(server, default_config(std::move(identity)), jitter) {}
  Replica(FakeLeaseServer& server, ElectorConfig config, double jitter = 0.0)
      : store(server, config.identity), elector(config, store, clock, board, [jitter] { return jitter; }) {}

  bool leads() const { return board.current()->is_leader(clock); }
  // What an app polling /leader would read right now.
  std::optional<nanoseconds> valid_for() const {
    return board.current()->valid_for(clock.boot_now(), clock.wall_now());
  }

  FakeClock clock;
  FakeLeaseStore store;
  SnapshotBoard board;
  Elector elector;
};

LeaderRecord held_by(std::string holder, std::optional<seconds> duration = 15s, int transitions = 0) {
  LeaderRecord r;
  r.holder_identity = std::move(holder);
  r.lease_duration = duration;
  r.acquire_time = r.renew_time = le::util::WallTime{seconds{1'699'999'000}};
  r.lease_transitions = transitions;
  return r;
}

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

TEST_CASE("acquires a Lease that has no holder") {
  // "" stands for absent and null too: the kube layer maps all three to "" (tested there).
  FakeLeaseServer server;
  SUBCASE("released by client-go: holder \"\", one-second lease") {
    server.external_write(held_by("", 1s, 4));
  }
  SUBCASE("holder empty, no duration at all") { server.external_write(held_by("", std::nullopt, 4)); }
  Replica a(server, "a");
  a.elector.tick();
  CHECK(a.leads());
  CHECK(server.record->holder_identity == "a");
  CHECK(server.record->lease_duration == 15s);
  CHECK(server.record->lease_transitions == 5);
  CHECK(server.record->acquire_time == server.record->renew_time);
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

TEST_CASE("a holder without leaseDurationSeconds counts as already expired") {
  FakeLeaseServer server;
  server.external_write(held_by("other", std::nullopt, 7));
  Replica a(server, "a");
  a.elector.tick();
  CHECK(a.leads());
  CHECK(server.record->lease_transitions == 8);
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

TEST_CASE("a leader whose Lease is deleted") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  const auto term = server.record->acquire_time;
  server.remove();

  SUBCASE("renews it back into existence (a PUT creates it), but leads only a renew deadline later") {
    Replica b(server, "b");
    b.clock = a.clock;
    b.elector.tick();  // 404: b waits
    a.clock.advance(2s);
    b.clock.advance(2s);
    a.elector.tick();
    REQUIRE(server.record.has_value());
    CHECK(server.record->acquire_time == term);  // the same term goes on
    // The renewal created the Lease (its uid is new): a create's wait applies, since someone else
    // may have created and led the Lease in between and may lead until its deadline.
    CHECK_FALSE(a.leads());
    b.elector.tick();
    CHECK_FALSE(b.leads());  // b follows the live record it now reads
    auto led_after = run_until_leading(a, 30s);
    REQUIRE(led_after);
    CHECK(*led_after >= 10s - 2s);  // the renew deadline from the renewal's send, in 2s ticks
  }
  SUBCASE("where a PUT to a missing Lease is a 404: stops leading at once, recreates it only later") {
    server.create_on_update = false;
    a.clock.advance(2s);
    a.elector.tick();
    CHECK_FALSE(a.leads());
    CHECK_FALSE(server.record.has_value());
    auto led_after = run_until_leading(a, 60s);
    REQUIRE(led_after);
    CHECK(*led_after >= 15s + 10s);
  }
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
          return le::election::StoredLease{held_by("other"), "1", "", "{}"};
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

TEST_CASE("a request never outlives the renew deadline while holding") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  FakeLeaseStore store(server, "a");
  FakeClock clock;
  SnapshotBoard board;
  Elector e(default_config("a"), store, clock, board, [] { return 0.0; });
  e.tick();
  CHECK(store.timeouts.back() == 5s);  // the request timeout
  for (int i = 0; i < 4; ++i) store.script({Fault::fail, ApiErrorKind::timeout, "update"});
  clock.advance(2s);
  e.tick();
  CHECK(store.timeouts.back() == 5s);  // holding, 8 s left: still the request timeout
  clock.advance(4s);
  e.tick();
  CHECK(store.timeouts.back() == 4s);  // holding, 4 s left: no more than that
  clock.advance(3s);
  e.tick();
  CHECK(store.timeouts.back() == 1s);
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
};

}  // namespace

// Rare interleavings need many seeds: a stop during the wait after a create, while a cut-off
// leader of the deleted Lease still leads, first shows at seed 762. The optimized build runs 1500
// in about 2 s; under the sanitizers (about 40 times slower) a tenth of them.
#if defined(__SANITIZE_ADDRESS__)
constexpr unsigned kRandomizedSeeds = 150;
#else
constexpr unsigned kRandomizedSeeds = 1500;
#endif

TEST_CASE("randomized: never two leaders, and a leader whenever the API allows one") {
  for (unsigned seed = 1; seed <= kRandomizedSeeds; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    FakeLeaseServer server;
    // Half the runs as the real API server (a PUT recreates a deleted Lease), half with a 404.
    server.create_on_update = seed % 2 == 0;
    std::vector<SimReplica> replicas(4);
    nanoseconds now{0};
    int incarnation = 0;
    auto start = [&](SimReplica& s, std::string identity) {
      // Identities repeat across restarts, as Pod names of a StatefulSet do.
      ++incarnation;
      s.replica = std::make_unique<Replica>(server, identity, uniform(rng));
      s.replica->clock.advance(now);
      s.next_tick = now;
      s.paused_until = now;
      s.frozen_process = false;
    };
    for (std::size_t i = 0; i < replicas.size(); ++i) start(replicas[i], "r" + std::to_string(i));
    int leadership_samples = 0;
    int transitions_seen = 0;
    std::string last_leader;

    for (int step = 0; step < 3000; ++step) {
      // Pick the replica whose tick is due first.
      auto& s = *std::min_element(replicas.begin(), replicas.end(), [](auto& x, auto& y) {
        return std::max(x.next_tick, x.paused_until) < std::max(y.next_tick, y.paused_until);
      });
      const nanoseconds due = std::max(s.next_tick, s.paused_until);
      // Advance global time to it, checking the invariant along the way.
      while (now < due) {
        const nanoseconds step_size = std::min<nanoseconds>(due - now, 500ms);
        now += step_size;
        int leaders = 0;
        for (auto& r : replicas) {
          if (now <= r.paused_until) {
            r.replica->clock.step_wall(step_size);  // boot stopped; wall set right on resume
          } else {
            r.replica->clock.advance(step_size);
          }
          if (r.replica->leads()) ++leaders;
        }
        REQUIRE(leaders <= 1);
        if (leaders == 1) ++leadership_samples;
      }
      // Random events.
      const double event = uniform(rng);
      FakeLeaseStore& store = s.replica->store;
      if (event < 0.05) {
        store.script({Fault::apply_then_lose, ApiErrorKind::timeout, ""});
      } else if (event < 0.10) {
        store.script({Fault::fail, ApiErrorKind::server_error, ""});
      } else if (event < 0.12) {
        s.paused_until = now + milliseconds{int(uniform(rng) * 30'000)};
        continue;
      } else if (event < 0.14) {
        // SIGKILL and restart under the same identity.
        start(s, s.replica->elector.config().identity);
      } else if (event < 0.16 && server.record) {
        server.edit_labels("{\"n\":\"" + std::to_string(step) + "\"}");
      } else if (event < 0.17) {
        server.remove();
      } else if (event < 0.185) {
        // Graceful stop and restart.
        s.replica->elector.begin_stopping(s.replica->clock.boot_now() + 25s);
        s.replica->elector.release();
        start(s, s.replica->elector.config().identity);
      } else if (event < 0.21) {
        // Cut off from the API server for a while: its next requests all fail, while the others
        // go on (and may delete, create and lead the Lease meanwhile).
        const int failures = 1 + int(uniform(rng) * 15);
        for (int k = 0; k < failures; ++k) store.script({Fault::fail, ApiErrorKind::network, ""});
      }
      s.next_tick = now + s.replica->elector.tick();
      int leaders = 0;
      std::string leader;
      for (auto& r : replicas) {
        if (r.replica->leads()) {
          ++leaders;
          leader = r.replica->elector.config().identity;
        }
      }
      REQUIRE(leaders <= 1);
      if (leaders == 1 && leader != last_leader) {
        ++transitions_seen;
        last_leader = leader;
      }
    }
    // Liveness, coarsely: someone led for a good share of the run, and leadership moved.
    CHECK(leadership_samples > 0);
    CHECK(transitions_seen >= 1);
  }
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
