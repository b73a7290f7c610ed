// The proxy's gate: a new exchange only while this replica leads, and every exchange reset the
// moment its term ends (by time, by a step-down, by another holder), except that a shutdown lets
// begun exchanges run until just before the release. Split brain here would be an exchange that
// goes on with the app after its term ended: each case checks may_continue() and the reset.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "election/snapshot.h"
#include "http_snapshots.h"
#include "proxy/term_gate.h"
#include "util/micro_time.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;
using le::election::SnapshotBoard;
using le::proxy::AdmittedTerm;
using le::proxy::GateEntry;
using le::proxy::TermGate;
using le::testing::boot0;
using le::testing::leading_snapshot;
using le::testing::SetClock;
using le::testing::wall0;

namespace {

struct Fixture {
  Fixture() {
    clock.boot = boot0 + 1s;
    clock.wall = wall0 + 1s;
    auto s = leading_snapshot();
    s.term = 7;
    s.fencing_token = "42";
    publish(s);
    gate = TermGate::create(io.get_executor(), board, clock);
    board.add_observer(TermGate::board_observer(gate));
    shard = &gate->add_shard();
  }
  void publish(const ElectionSnapshot& s) { board.publish(std::make_shared<const ElectionSnapshot>(s)); }
  // Runs what is due on the gate's strand (the timer included, when its time has come on the steady
  // clock: the cases below only use timers already due).
  void settle() {
    io.restart();
    io.poll();
  }
  // Registers an exchange of `term`, as a proxy worker does, through the shard.
  GateEntry& enter(std::uint64_t term) {
    auto& entry = *entries.emplace_back(std::make_unique<GateEntry>([this](std::uint64_t tag) {
      CHECK(tag == 99);
      resets.fetch_add(1);
    }));
    shard->enter(entry, term, 99);
    return entry;
  }
  // What a worker's shard answers, which the gate must answer alike from the board itself.
  std::shared_ptr<const AdmittedTerm> admit() {
    auto from_shard = shard->admit();
    const auto from_board = gate->admit();
    CHECK(bool(from_shard) == bool(from_board));
    if (from_shard && from_board) CHECK(from_shard->number == from_board->number);
    return from_shard;
  }
  bool may_continue(std::uint64_t term) {
    const bool answer = shard->may_continue(term);
    CHECK(answer == gate->may_continue(term));
    return answer;
  }

  // Before the gate: an entry must outlive the shard it is entered in.
  std::vector<std::unique_ptr<GateEntry>> entries;
  boost::asio::io_context io;
  SetClock clock;
  SnapshotBoard board;
  std::shared_ptr<TermGate> gate;
  TermGate::Shard* shard = nullptr;
  std::atomic<int> resets{0};
};

}  // namespace

TEST_CASE("a leader admits exchanges under its term, with the term's fencing token") {
  Fixture f;
  const auto term = f.admit();
  REQUIRE(term);
  CHECK(term->number == 7);
  CHECK(term->holder == "pod-a");
  // The acquireTime as stored: leading_snapshot() acquired 60 s before wall0.
  CHECK(term->acquire_time == le::util::format_micro_time(le::util::to_micro(wall0 - 60s)));
  CHECK(term->acquire_time.size() == 27);
  CHECK(term->fencing_token == "42");
  CHECK(f.may_continue(7));
  CHECK_FALSE(f.may_continue(6));
  f.enter(7);
  f.settle();
  CHECK(f.resets == 0);
}

TEST_CASE("a follower admits nothing") {
  Fixture f;
  f.publish(le::testing::following_snapshot());
  CHECK_FALSE(f.admit());
  CHECK_FALSE(f.may_continue(7));
}

TEST_CASE("the renew deadline passing ends the term: no byte may go on, and the exchange is reset") {
  Fixture f;
  f.enter(7);
  f.clock.boot = boot0 + 10s;  // the renew deadline after the renewal at boot0
  f.clock.wall = wall0 + 10s;
  CHECK_FALSE(f.admit());
  CHECK_FALSE(f.may_continue(7));
  f.gate->snapshot_published();  // the timer's work, without waiting for the steady clock
  f.settle();
  CHECK(f.resets == 1);
}

TEST_CASE("the wall clock alone can end the term too") {
  Fixture f;
  f.clock.wall = wall0 + 11s;
  CHECK_FALSE(f.may_continue(7));
}

TEST_CASE("a step-down resets at once") {
  Fixture f;
  f.enter(7);
  f.enter(7);
  REQUIRE(f.board.withhold_leadership(f.clock));
  CHECK_FALSE(f.may_continue(7));
  f.settle();
  CHECK(f.resets == 2);
}

TEST_CASE("another holder in the Lease resets at once") {
  Fixture f;
  f.enter(7);
  f.publish(le::testing::following_snapshot());
  f.settle();
  CHECK(f.resets == 1);
}

TEST_CASE("a later term of this process does not revive an exchange of an earlier one") {
  Fixture f;
  f.enter(7);
  auto next = leading_snapshot();
  next.term = 8;
  f.publish(next);
  CHECK_FALSE(f.may_continue(7));
  CHECK(f.may_continue(8));
  // The shard's admitted term is the new one, not the one it formatted for term 7.
  REQUIRE(f.admit());
  CHECK(f.admit()->number == 8);
  f.settle();
  CHECK(f.resets == 1);
}

TEST_CASE("a shutdown admits nothing new but lets begun exchanges go on until close_all") {
  Fixture f;
  auto& entry = f.enter(7);
  CHECK(f.board.mark_stopping(f.clock));
  CHECK_FALSE(f.admit());
  CHECK(f.may_continue(7));
  f.settle();
  CHECK(f.resets == 0);
  // Before the release: reset, and wait for the exchange to leave (here at once, from another thread).
  std::thread leaver([&] {
    while (f.resets == 0) std::this_thread::yield();
    f.shard->leave(entry);
  });
  CHECK(f.gate->close_all(5s));
  leaver.join();
  CHECK(f.resets == 1);
  CHECK_FALSE(f.may_continue(7));
  CHECK(f.gate->open_exchanges() == 0);
}

TEST_CASE("close_all says so when an exchange does not leave in time - and still nothing may go on") {
  Fixture f;
  f.enter(7);
  CHECK_FALSE(f.gate->close_all(10ms));
  CHECK(f.resets == 1);
  CHECK_FALSE(f.may_continue(7));
  CHECK_FALSE(f.admit());
}

TEST_CASE("a shutdown's drain ends at the renew deadline too, if renewals fail meanwhile") {
  Fixture f;
  f.enter(7);
  f.board.mark_stopping(f.clock);
  f.clock.boot = boot0 + 10s;
  f.clock.wall = wall0 + 10s;
  CHECK_FALSE(f.may_continue(7));
  f.gate->snapshot_published();
  f.settle();
  CHECK(f.resets == 1);
}

TEST_CASE("an exchange entered after its term ended is reset at once") {
  Fixture f;
  f.board.withhold_leadership(f.clock);
  f.settle();
  f.enter(7);
  f.settle();
  CHECK(f.resets == 1);
}

TEST_CASE("an exchange that left is not reset, and its entry entered again is reset once for the next") {
  Fixture f;
  auto& entry = f.enter(7);
  f.shard->leave(entry);
  f.shard->leave(entry);  // harmless twice (a session leaves on every way out)
  REQUIRE(f.board.withhold_leadership(f.clock));
  f.settle();
  CHECK(f.resets == 0);
  f.shard->enter(entry, 7, 99);  // entered again, as a kept-alive connection's next request
  f.settle();
  CHECK(f.resets == 1);
  f.publish(le::testing::following_snapshot());
  f.settle();
  CHECK(f.resets == 1);
  CHECK(f.gate->open_exchanges() == 1);
  f.shard->leave(entry);
  CHECK(f.gate->open_exchanges() == 0);
}

TEST_CASE("a shard sees a step-down at once, with no help from the gate's observer") {
  // The shards follow SnapshotBoard::version(), moved before any observer runs: an observer that
  // ran before the gate's (or failed) cannot leave a worker admitting under a withheld term.
  boost::asio::io_context io;
  SetClock clock;
  clock.boot = boot0 + 1s;
  clock.wall = wall0 + 1s;
  SnapshotBoard board;
  auto s = leading_snapshot();
  s.term = 7;
  board.publish(std::make_shared<const ElectionSnapshot>(s));
  const auto gate = TermGate::create(io.get_executor(), board, clock);  // no board_observer
  auto& shard = gate->add_shard();
  REQUIRE(shard.admit());
  CHECK(shard.may_continue(7));
  REQUIRE(board.withhold_leadership(clock));
  CHECK_FALSE(shard.admit());
  CHECK_FALSE(shard.may_continue(7));
}
