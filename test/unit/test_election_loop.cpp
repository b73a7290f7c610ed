// The loop that drives an Elector on its own thread: it stops when asked, hands the Lease over,
// and survives an iteration that throws. Real threads and short real durations; every wait is on
// a condition with a deadline, and nothing here asserts a timing.
#include <doctest/doctest.h>

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

ElectorConfig fast_config() {
  ElectorConfig config;
  config.identity = "loop";
  config.lease_duration = 1s;
  config.renew_deadline = 500ms;
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

LeaderRecord free_record() {
  LeaderRecord r;
  r.lease_duration = 1s;
  return r;
}

}  // namespace

TEST_CASE("a leading loop renews through the release delay, releases, and returns") {
  FakeLeaseServer server;
  server.external_write(free_record());
  FakeLeaseStore store(server, "loop");
  SystemClock clock;
  SnapshotBoard board;
  Elector elector(fast_config(), store, clock, board, [] { return 0.5; });
  ElectionLoop loop(elector, clock, 100ms);
  std::thread thread([&] { loop.run(); });
  REQUIRE(eventually([&] { return board.current()->is_leader(clock); }));

  const bool was_leading = board.mark_stopping(clock);
  CHECK(was_leading);
  CHECK_FALSE(board.current()->is_leader(clock));
  loop.request_stop();
  thread.join();
  CHECK(server.record->holder_identity.empty());
  CHECK(server.record->lease_duration == 1s);
  CHECK(server.log.back() == "loop update");
}

TEST_CASE("a loop stopped during the wait after its create releases only once the wait is over") {
  FakeLeaseServer server;  // no Lease: the loop creates it after one lease duration
  FakeLeaseStore store(server, "loop");
  SystemClock clock;
  SnapshotBoard board;
  std::optional<le::election::BootTime> released_at;
  store.after_apply = [&](const std::string&) {
    if (server.record && server.record->holder_identity.empty()) released_at = clock.boot_now();
  };
  Elector elector(fast_config(), store, clock, board, [] { return 0.5; });
  ElectionLoop loop(elector, clock, 0ms);
  std::thread thread([&] { loop.run(); });
  REQUIRE(eventually([&] { return board.current()->leading_not_before.has_value(); }));
  const auto leads_from = *board.current()->leading_not_before;
  CHECK_FALSE(board.mark_stopping(clock));  // it never reported leadership
  loop.request_stop();
  thread.join();
  REQUIRE(released_at);
  CHECK(*released_at >= leads_from);
}

TEST_CASE("a following loop stops without touching the Lease") {
  FakeLeaseServer server;
  LeaderRecord other = free_record();
  other.holder_identity = "other";
  other.lease_duration = 3600s;
  server.external_write(other);
  FakeLeaseStore store(server, "loop");
  SystemClock clock;
  SnapshotBoard board;
  Elector elector(fast_config(), store, clock, board, [] { return 0.5; });
  ElectionLoop loop(elector, clock, 100ms);
  std::thread thread([&] { loop.run(); });
  REQUIRE(eventually([&] { return server.log.size() >= 3; }));
  board.mark_stopping(clock);
  loop.request_stop();
  thread.join();
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
  SystemClock clock;
  SnapshotBoard board;
  Elector elector(fast_config(), store, clock, board, [] { return 0.5; });
  ElectionLoop loop(elector, clock, 0ms);
  std::thread thread([&] { loop.run(); });
  CHECK(eventually([&] { return store.calls >= 3; }));
  loop.request_stop();
  thread.join();
}
