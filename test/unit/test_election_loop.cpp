// The loop that drives an Elector on its own thread: it stops when asked, hands the Lease over,
// and survives an iteration that throws. Real threads and short real durations; every wait is on
// a condition with a deadline, and nothing here asserts a timing. A few tests sleep to let many
// retry periods pass and then check that something did *not* happen (a slow machine only makes
// such a check weaker, never wrong).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "election/election_loop.h"
#include "fake_lease_store.h"

using namespace std::chrono_literals;
using le::election::ElectionLoop;
using le::election::Elector;
using le::election::ElectorConfig;
using le::election::LeaderRecord;
using le::election::SnapshotBoard;
using le::election::SystemClock;
using le::testing::FakeLeaseServer;
using le::testing::FakeLeaseStore;

namespace {

// Renewals come every 20 ms, but the renew deadline is long: on a loaded machine the loop thread
// can stall for a second or two (measured on a busy 2-core CI box), and a leader that misses its
// deadline rightly stops leading and does not release, which is not what these tests are about.
// No test here waits for the lease duration or the renew deadline to pass on the real clocks.
ElectorConfig fast_config() {
  ElectorConfig config;
  config.identity = "loop";
  config.lease_duration = 30s;
  config.renew_deadline = 20s;
  config.retry_period = 20ms;
  config.request_timeout = 200ms;
  return config;
}

template <class Predicate>
bool eventually(Predicate predicate) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// client-go's release record: free, and taken at once (a record without renewTime is not).
LeaderRecord free_record() {
  LeaderRecord r;
  r.lease_duration = 1s;
  r.acquire_time = r.renew_time = le::util::WallTime{std::chrono::seconds{1'699'999'000}};
  return r;
}

// The real clocks, which a test can move forward at once, both together, as if that much time had
// passed in a blink: it skips a wait the loop would otherwise sleep through. Thread-safe.
class ShiftableClock final : public le::election::Clock {
 public:
  le::election::BootTime boot_now() const override { return real_.boot_now() + offset(); }
  le::election::WallClockTime wall_now() const override {
    return real_.wall_now() + std::chrono::duration_cast<le::election::WallClockTime::duration>(offset());
  }
  void skip(std::chrono::nanoseconds d) { offset_ns_ += d.count(); }

 private:
  std::chrono::nanoseconds offset() const { return std::chrono::nanoseconds{offset_ns_.load()}; }
  SystemClock real_;
  std::atomic<std::int64_t> offset_ns_{0};
};

// An Elector and its loop on a thread of their own, on the real clocks. The test thread reads only
// the snapshot board (thread-safe), never the in-memory Lease, until the loop thread has been
// joined.
struct RunningLoop {
  RunningLoop(le::election::LeaseStore& store, std::chrono::nanoseconds release_delay,
              ElectorConfig config = fast_config())
      : elector(config, store, clock, board, [] { return 0.5; }), loop(elector, clock, release_delay) {
    start();
  }
  // For a test that wires the store's hooks to this loop before it runs.
  struct Deferred {};
  RunningLoop(Deferred, le::election::LeaseStore& store, std::chrono::nanoseconds release_delay,
              ElectorConfig config = fast_config())
      : elector(config, store, clock, board, [] { return 0.5; }), loop(elector, clock, release_delay) {}
  void start() {
    thread = std::thread([this] {
      loop.run();
      returned = true;
    });
  }
  ~RunningLoop() {
    if (thread.joinable()) stop();
  }
  // What the signal handler does; returns whether leadership was visible until then.
  bool stop() {
    const bool was_leading = board.mark_stopping(clock);
    loop.request_stop();
    thread.join();
    return was_leading;
  }

  ShiftableClock clock;
  SnapshotBoard board;
  Elector elector;
  ElectionLoop loop;
  std::atomic<bool> returned{false};
  std::thread thread;
};

}  // namespace

TEST_CASE("a leading loop renews through the release delay, releases, and returns") {
  FakeLeaseServer server;
  server.external_write(free_record());
  FakeLeaseStore store(server, "loop");
  RunningLoop running(store, 100ms);
  REQUIRE(eventually([&] { return running.board.current()->is_leader(running.clock); }));
  CHECK(running.stop());
  CHECK_FALSE(running.board.current()->is_leader(running.clock));
  CHECK(server.record->holder_identity.empty());
  CHECK(server.record->lease_duration == 1s);
  CHECK(server.log.back() == "loop update");
}

TEST_CASE("a loop stopped during the wait after its create releases only once the wait is over") {
  FakeLeaseServer server;  // no Lease: the loop creates it after one lease duration
  FakeLeaseStore store(server, "loop");
  RunningLoop running(RunningLoop::Deferred{}, store, 0ms);
  const ElectorConfig config = running.elector.config();
  // Everything below runs on the loop thread, at fixed points of its requests, so no stall of
  // either thread changes what happens. Written there, read after the join.
  int gets = 0;
  bool stopped = false;
  bool was_leading_at_stop = true;
  bool reported_leadership = false;
  std::optional<le::election::BootTime> leads_from;
  std::optional<le::election::BootTime> released_at;
  running.board.add_observer([&](const le::election::ElectionSnapshot& snapshot) {
    reported_leadership |= snapshot.is_leader(running.clock);
  });
  store.before_request = [&](const std::string& verb) {
    // The first 404 starts the wait of one lease duration before the create; skip it.
    if (verb == "get" && gets++ == 1) running.clock.skip(config.lease_duration);
    if (verb == "update" && !stopped) {
      // The create has been answered and its wait published: the signal comes now (what the
      // signal handler does).
      leads_from = running.board.current()->leading_not_before;
      was_leading_at_stop = running.board.mark_stopping(running.clock);
      running.loop.request_stop();
      stopped = true;
    }
  };
  store.after_apply = [&](const std::string& verb) {
    if (verb != "update") return;
    if (server.record->holder_identity.empty()) {
      released_at = running.clock.boot_now();
    } else {
      // A renewal through the wait: move on by a quarter of the renew deadline, so the wait (one
      // renew deadline from the create's answer) passes in a few renewals, and the hold, renewed
      // each time, still has three quarters of a renew deadline of margin for any stall.
      running.clock.skip(config.renew_deadline / 4);
    }
  };
  running.start();
  REQUIRE(eventually([&] { return running.returned.load(); }));
  running.thread.join();
  REQUIRE(stopped);
  CHECK_FALSE(was_leading_at_stop);
  CHECK_FALSE(reported_leadership);  // not before the stop, nor after it
  REQUIRE(leads_from);
  REQUIRE(released_at);
  CHECK(*released_at >= *leads_from);
  CHECK(server.record->holder_identity.empty());
}

TEST_CASE("a following loop stops without touching the Lease") {
  FakeLeaseServer server;
  LeaderRecord other = free_record();
  other.holder_identity = "other";
  other.lease_duration = 3600s;
  server.external_write(other);
  FakeLeaseStore store(server, "loop");
  RunningLoop running(store, 100ms);
  REQUIRE(eventually([&] {
    const auto observed = running.board.current()->observed;
    return observed && observed->holder_identity == "other";
  }));
  CHECK_FALSE(running.stop());
  CHECK(server.record->holder_identity == "other");
  CHECK(server.resource_version == 1);
}

TEST_CASE("an iteration that throws does not end the loop") {
  struct ThrowingStore final : le::election::LeaseStore {
    std::atomic<int> calls{0};
    le::election::Result<le::election::StoredLease> get(std::chrono::milliseconds) override {
      ++calls;
      throw std::runtime_error("unexpected");
    }
    le::election::Result<le::election::StoredLease> create(const LeaderRecord&,
                                                           std::chrono::milliseconds) override {
      throw std::runtime_error("unexpected");
    }
    le::election::Result<le::election::StoredLease> update(const le::election::StoredLease&,
                                                           const LeaderRecord&,
                                                           std::chrono::milliseconds) override {
      throw std::runtime_error("unexpected");
    }
    std::string describe() const override { return "default/demo"; }
  } store;
  RunningLoop running(store, 0ms);
  CHECK(eventually([&] { return store.calls >= 3; }));
  running.stop();
}

// The in-memory Lease behind a mutex, so the test thread can write it while the loop runs.
struct LockedStore final : le::election::LeaseStore {
  explicit LockedStore(FakeLeaseStore& inner) : inner(inner) {}
  le::election::Result<le::election::StoredLease> get(std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mutex);
    return inner.get(timeout);
  }
  le::election::Result<le::election::StoredLease> create(const LeaderRecord& record,
                                                         std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mutex);
    return inner.create(record, timeout);
  }
  le::election::Result<le::election::StoredLease> update(const le::election::StoredLease& base,
                                                         const LeaderRecord& record,
                                                         std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mutex);
    return inner.update(base, record, timeout);
  }
  std::string describe() const override { return inner.describe(); }
  FakeLeaseStore& inner;
  std::mutex mutex;
};

TEST_CASE("a watch event wakes a following loop: a released Lease is taken long before the next poll") {
  FakeLeaseServer server;
  LeaderRecord other = free_record();
  other.holder_identity = "other";
  other.lease_duration = 3600s;
  server.external_write(other);
  FakeLeaseStore inner(server, "loop");
  LockedStore store(inner);
  // Polls an hour apart: only the event can make it act within the test's patience.
  ElectorConfig config = fast_config();
  config.lease_duration = 7200s;
  config.renew_deadline = 3000s;
  config.retry_period = 3600s;
  RunningLoop running(store, 0ms, config);
  REQUIRE(eventually([&] {
    const auto observed = running.board.current()->observed;
    return observed && observed->holder_identity == "other";
  }));
  // The loop notes the version it observed just after the iteration that published it: wait for
  // that, not only for the snapshot.
  CHECK(eventually([&] { return running.loop.resume_version() == "1"; }));
  running.loop.deliver(le::election::LeaseEvent{le::election::LeaseEvent::Kind::connected, std::nullopt, {}});
  le::election::StoredLease released;
  {
    std::lock_guard lock(store.mutex);
    server.external_write(free_record());
    released = server.stored();
  }
  running.loop.deliver(le::election::LeaseEvent{le::election::LeaseEvent::Kind::changed, released, {}});
  CHECK(eventually([&] { return running.board.current()->is_leader(running.clock); }));
  CHECK(running.stop());
}

TEST_CASE(
    "a step-down through the loop: hidden at once, released after the delay, no campaign in the hold-off") {
  FakeLeaseServer server;
  server.external_write(free_record());
  FakeLeaseStore store(server, "loop");
  RunningLoop running(store, 100ms);
  REQUIRE(eventually([&] { return running.board.current()->is_leader(running.clock); }));
  // What the admin listener and SIGUSR1 do, from a thread other than the loop's.
  std::optional<std::uint64_t> term;
  std::thread caller([&] {
    term = le::election::step_down(running.board, running.clock, running.loop, {100ms, 1h});
  });
  caller.join();
  REQUIRE(term);
  CHECK_FALSE(running.board.current()->is_leader(running.clock));  // at once, before the loop acts
  // The loop releases once the release delay is over...
  // ("stepped down", then "stepped down, not campaigning until the hold-off ends")
  REQUIRE(eventually([&] { return running.board.current()->status.starts_with("stepped down"); }));
  // ... and then, with the Lease free, keeps out of it for the hold-off: a full second of 20 ms
  // retry periods passes with the Lease still free (the loop would take it in one without the
  // hold-off; the test after this one shows that).
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(running.board.current()->is_leader(running.clock));
  CHECK_FALSE(le::election::step_down(running.board, running.clock, running.loop,
                                      {100ms, 1h}));  // nothing to step down from
  running.stop();
  CHECK(server.record->holder_identity.empty());
  CHECK(server.record->lease_duration == 1s);  // client-go's release record
}

TEST_CASE("after a step-down with no hold-off the loop campaigns again at once") {
  FakeLeaseServer server;
  server.external_write(free_record());
  FakeLeaseStore store(server, "loop");
  RunningLoop running(store, 0ms);
  REQUIRE(eventually([&] { return running.board.current()->is_leader(running.clock); }));
  const auto term = le::election::step_down(running.board, running.clock, running.loop, {0s, 0s});
  REQUIRE(term);
  REQUIRE(eventually([&] {
    const auto snapshot = running.board.current();
    return snapshot->is_leader(running.clock) && snapshot->term > *term;
  }));
}

TEST_CASE("candidacy set from another thread: no campaign while false, at once when true") {
  FakeLeaseServer server;
  server.external_write(free_record());
  FakeLeaseStore store(server, "loop");
  RunningLoop running(RunningLoop::Deferred{}, store, 0ms);
  running.elector.set_candidate(false, "the app's health check has not passed yet");  // as main does
  running.start();
  REQUIRE(eventually([&] { return running.board.current()->status.starts_with("not campaigning"); }));
  std::this_thread::sleep_for(200ms);  // ten retry periods
  CHECK_FALSE(running.board.current()->is_leader(running.clock));
  std::thread([&] { running.loop.set_candidate(true); }).join();
  CHECK(eventually([&] { return running.board.current()->is_leader(running.clock); }));
}
