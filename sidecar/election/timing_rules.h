#pragma once
// The election's timing rules in one place: client-go's retry jitter and the relations its
// NewLeaderElector enforces, the request-timeout rule, and the shutdown arithmetic that keeps
// everything after SIGTERM inside Kubernetes' grace period. config/ validates by calling these,
// --help prints from them, and the elector and its loop run by them. Header-only, so config/ can
// use it without linking the election.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

namespace le::election::timing {

// ---------------------------------------------------------------------------------------------
// Retries

// client-go's leaderelection.JitterFactor: a follower's next poll, and any retry after a failure,
// comes after retry_period * (1 + jitter_factor * random).
inline constexpr double kJitterFactor = 1.2;

// The longest wait the jitter can give: retry_period * (1 + jitter_factor).
inline std::chrono::nanoseconds longest_jittered_wait(std::chrono::nanoseconds retry_period,
                                                      double jitter_factor = kJitterFactor) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::nano>(retry_period.count() * (1.0 + jitter_factor)));
}

// The two checks of client-go's NewLeaderElector, with its arithmetic: a leader must give up
// before its lease can expire for the others, and its last retry, jittered up to 1.2 times the
// retry period, must still fall inside the renew deadline.
constexpr bool renew_deadline_fits_lease(std::chrono::nanoseconds lease_duration,
                                         std::chrono::nanoseconds renew_deadline) {
  return lease_duration > renew_deadline;
}
// Compared in floating point: 1.2 times a huge retry period would overflow a 64-bit count of
// nanoseconds and slip through.
constexpr bool retry_fits_renew_deadline(std::chrono::nanoseconds renew_deadline,
                                         std::chrono::nanoseconds retry_period) {
  return !(static_cast<double>(renew_deadline.count()) <=
           kJitterFactor * static_cast<double>(retry_period.count()));
}

// ---------------------------------------------------------------------------------------------
// Requests

// No single request outlasts this, so a request under way when SIGTERM comes cannot push the exit
// past the grace period.
inline constexpr std::chrono::seconds kMaxRequestTimeout{10};

// The program's request timeout: two requests (a read and a write) fit in one renew deadline, and
// none outlasts kMaxRequestTimeout.
constexpr std::chrono::nanoseconds request_timeout_for(std::chrono::nanoseconds renew_deadline) {
  return std::min<std::chrono::nanoseconds>(renew_deadline / 2, kMaxRequestTimeout);
}

// Whatever request timeout is configured, the elector uses no more than renew_deadline: a renewal
// answered late still counts from its own send time, so its answer must come while that counts.
constexpr std::chrono::nanoseconds bounded_request_timeout(std::chrono::nanoseconds request_timeout,
                                                           std::chrono::nanoseconds renew_deadline) {
  return std::min(request_timeout, renew_deadline);
}

// ---------------------------------------------------------------------------------------------
// Shutdown

// Kubernetes' default terminationGracePeriodSeconds: SIGKILL comes this long after SIGTERM.
inline constexpr std::chrono::seconds kTerminationGracePeriod{30};

// Everything after a stop request, requests under way included, fits in this, whatever the API
// server does: inside the grace period, with room to spare.
inline constexpr std::chrono::seconds kShutdownBudget{25};

// While shutting down, requests are bounded by this as well, so the process exits well inside
// Kubernetes' termination grace period even when the API server hangs.
inline constexpr std::chrono::seconds kStoppingRequestTimeout{3};

// A release takes up to three requests (the update, a re-read after a 409, the update again),
// each bounded by the stopping request timeout: it must start this long before the shutdown
// deadline (9 s by default).
inline constexpr int kReleaseRequests = 3;
constexpr std::chrono::nanoseconds release_time(std::chrono::nanoseconds stopping_request_timeout) {
  return kReleaseRequests * stopping_request_timeout;
}

// The longest --release-delay. The sidecar must step down, wait this delay, release the Lease and
// exit well within the grace period, or the release never happens and the other replicas wait out
// a full lease duration: the delay and the release's 9 s fit the 25 s budget.
inline constexpr std::chrono::seconds kMaxReleaseDelay{15};

// ---------------------------------------------------------------------------------------------
// Step-down

// --step-down-delay's default is the release delay, but at least this.
inline constexpr std::chrono::seconds kMinDefaultStepDownDelay{1};

// The longest --step-down-delay: no grace period bounds a step-down, but a leader that keeps the
// Lease without leading keeps everyone else from leading.
inline constexpr std::chrono::minutes kMaxStepDownDelay{5};

// The longest hold-off a step-down may ask for (--step-down-holdoff, POST /step-down?holdoff=).
inline constexpr std::chrono::hours kMaxStepDownHoldOff{24};

// What is wrong with a hold-off, completing "<the value> ..."; nullopt when it is fine. Zero is
// allowed: release, and campaign again at once.
inline std::optional<std::string> check_step_down_hold_off(std::chrono::nanoseconds hold_off) {
  if (hold_off < std::chrono::nanoseconds::zero()) return "must not be negative";
  if (hold_off > kMaxStepDownHoldOff) return "must be at most 24h";
  return std::nullopt;
}

static_assert(kShutdownBudget < kTerminationGracePeriod);
static_assert(kMaxReleaseDelay + release_time(kStoppingRequestTimeout) <= kShutdownBudget);
static_assert(kMaxRequestTimeout < kTerminationGracePeriod);

}  // namespace le::election::timing
