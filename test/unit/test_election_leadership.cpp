// The leadership rule, written once (election/leadership.h), and the timing rules beside it
// (election/timing_rules.h): the arithmetic the elector, its snapshot and config/ all rely on.
#include <doctest/doctest.h>

#include <chrono>

#include "election/leadership.h"
#include "election/snapshot.h"
#include "election/timing_rules.h"

using namespace std::chrono_literals;
using le::election::BootTime;
using le::election::SendTime;
using le::election::WallClockTime;
namespace timing = le::election::timing;

namespace {

const BootTime boot0{100h};
const WallClockTime wall0{1'700'000'000s};
const SendTime sent{boot0, wall0};

}  // namespace

TEST_CASE("a record is held until renew_deadline after its send, on both clocks") {
  CHECK(le::election::time_held(sent, 10s, boot0, wall0) == 10s);
  CHECK(le::election::time_held(sent, 10s, boot0 + 4s, wall0 + 4s) == 6s);
  CHECK_FALSE(le::election::time_held(sent, 10s, boot0 + 10s, wall0 + 10s));
  // A paused VM: the boot clock stood still, the wall clock did not. The wall clock only shortens.
  CHECK(le::election::time_held(sent, 10s, boot0 + 1s, wall0 + 7s) == 3s);
  CHECK_FALSE(le::election::time_held(sent, 10s, boot0 + 1s, wall0 + 10s));
  // A wall clock stepped back never lengthens it.
  CHECK(le::election::time_held(sent, 10s, boot0 + 2s, wall0 - 1h) == 8s);
}

TEST_CASE("leading is holding, past the wait after a create, and not stopping") {
  using le::election::time_leading;
  CHECK(time_leading(sent, 10s, std::nullopt, false, boot0 + 1s, wall0 + 1s) == 9s);
  CHECK_FALSE(time_leading(std::nullopt, 10s, std::nullopt, false, boot0, wall0));
  CHECK_FALSE(time_leading(sent, 10s, std::nullopt, true, boot0, wall0));
  CHECK_FALSE(time_leading(sent, 10s, boot0 + 2s, false, boot0 + 1s, wall0 + 1s));
  CHECK(time_leading(sent, 10s, boot0 + 2s, false, boot0 + 2s, wall0 + 2s) == 8s);
  CHECK_FALSE(time_leading(sent, 10s, boot0 + 2s, false, boot0 + 10s, wall0 + 10s));
}

TEST_CASE("the snapshot judges leadership by the same rule") {
  le::election::ElectionSnapshot s;
  s.renew_sent_boot = boot0;
  s.renew_sent_wall = wall0;
  s.renew_deadline = 10s;
  CHECK_FALSE(s.valid_for(boot0, wall0));  // not our record
  s.record_is_ours = true;
  CHECK(s.valid_for(boot0 + 3s, wall0 + 3s) == 7s);
  s.renew_sent_wall.reset();
  CHECK_FALSE(s.valid_for(boot0, wall0));
}

TEST_CASE("timing rules: client-go's jitter and NewLeaderElector's checks") {
  CHECK(timing::kJitterFactor == 1.2);
  CHECK(timing::longest_jittered_wait(2s) == 4400ms);
  CHECK(timing::renew_deadline_fits_lease(15s, 10s));
  CHECK_FALSE(timing::renew_deadline_fits_lease(10s, 10s));
  CHECK(timing::retry_fits_renew_deadline(10s, 2s));
  CHECK_FALSE(timing::retry_fits_renew_deadline(12s, 10s));  // 1.2 x 10 s is not less than 12 s
  // Huge retry periods must not overflow into a pass.
  CHECK_FALSE(timing::retry_fits_renew_deadline(10s, std::chrono::nanoseconds::max()));
}

TEST_CASE("timing rules: request timeouts and the shutdown arithmetic") {
  CHECK(timing::request_timeout_for(10s) == 5s);
  CHECK(timing::request_timeout_for(60s) == 10s);  // never more than 10 s
  CHECK(timing::bounded_request_timeout(5s, 2s) == 2s);
  CHECK(timing::bounded_request_timeout(1s, 2s) == 1s);
  CHECK(timing::release_time(timing::kStoppingRequestTimeout) == 9s);
  CHECK(timing::kMaxReleaseDelay + timing::release_time(timing::kStoppingRequestTimeout) <=
        timing::kShutdownBudget);
  CHECK(timing::kShutdownBudget < timing::kTerminationGracePeriod);
}
