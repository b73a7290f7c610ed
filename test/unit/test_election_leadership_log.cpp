// The leadership audit trail the chaos suite's checker reads: terms from snapshots, on the boot clock.
#include <doctest/doctest.h>

#include <chrono>

#include "election/leadership_log.h"
#include "election/snapshot.h"

using namespace std::chrono_literals;
using le::election::BootTime;
using le::election::ElectionSnapshot;
using le::election::LeadershipTracker;

namespace {

const BootTime t0{100s};

ElectionSnapshot ours(BootTime sent) {
  ElectionSnapshot s;
  s.record_is_ours = true;
  s.renew_sent_boot = sent;
  s.renew_deadline = 1s;
  return s;
}

}  // namespace

TEST_CASE(
    "a term starts at the acquiring write's send time and ends a renew deadline after the last renewal") {
  LeadershipTracker tracker;
  CHECK_FALSE(tracker.update(ElectionSnapshot{}, t0));  // following: nothing to report
  auto term = tracker.update(ours(t0), t0 + 5ms);
  REQUIRE(term);
  CHECK(term->start == t0);
  CHECK(term->valid_until == t0 + 1s);
  CHECK_FALSE(tracker.update(ours(t0), t0 + 10ms));  // republished, same write: no new line
  term = tracker.update(ours(t0 + 200ms), t0 + 205ms);
  REQUIRE(term);
  CHECK(term->start == t0);
  CHECK(term->valid_until == t0 + 1200ms);
}

TEST_CASE("stepping down ends the term at that instant, not at its deadline") {
  LeadershipTracker tracker;
  tracker.update(ours(t0), t0);
  auto stopping = ours(t0);
  stopping.stopping = true;
  const auto term = tracker.update(stopping, t0 + 300ms);
  REQUIRE(term);
  CHECK(term->start == t0);
  CHECK(term->valid_until == t0 + 300ms);
  CHECK_FALSE(tracker.update(stopping, t0 + 400ms));
}

TEST_CASE("losing the record after the deadline keeps the deadline as the term's end") {
  LeadershipTracker tracker;
  tracker.update(ours(t0), t0);
  ElectionSnapshot lost;
  lost.record_is_ours = false;
  const auto term = tracker.update(lost, t0 + 5s);
  REQUIRE(term);
  CHECK(term->valid_until == t0 + 1s);
}

TEST_CASE("a write sent after the previous term ran out starts a new term") {
  LeadershipTracker tracker;
  tracker.update(ours(t0), t0);
  // Paused (SIGSTOP) past the deadline with the record still ours, then a successful write.
  const auto term = tracker.update(ours(t0 + 3s), t0 + 3s);
  REQUIRE(term);
  CHECK(term->start == t0 + 3s);
  CHECK(term->valid_until == t0 + 4s);
}

TEST_CASE("the log line carries both boot-clock instants in nanoseconds under a fixed key") {
  const auto line = le::election::format_leadership_line({t0, t0 + 1s}, false);
  CHECK(line == "leadership-term holds start_boot_ns=100000000000 valid_until_boot_ns=101000000000");
  CHECK(le::election::format_leadership_line({t0, t0 + 1s}, true).find("leadership-term ended") == 0);
}
