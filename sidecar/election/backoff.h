#pragma once
// How long the elector waits before its next try: client-go's jittered retry period once the API
// server has answered, an exponential back-off before that (start-up), and Retry-After honoured
// only as far as the pace of renewals allows.
#include <chrono>
#include <functional>
#include <optional>
#include <utility>

#include "election/timing_rules.h"

namespace le::election {

class Backoff {
 public:
  // uniform01 returns a random number in [0, 1) for the jitter and the spread.
  Backoff(std::chrono::nanoseconds retry_period, double jitter_factor, std::chrono::seconds lease_duration,
          std::function<double()> uniform01)
      : retry_period_(retry_period),
        jitter_factor_(jitter_factor),
        lease_duration_(lease_duration),
        uniform01_(std::move(uniform01)),
        startup_backoff_(retry_period) {}

  // The API server answered (a 404 counts): from now on failures are retried at the jittered pace.
  void note_contact() { contacted_ = true; }
  bool contacted() const { return contacted_; }

  // client-go's wait.Jitter: retry_period * (1 + jitter_factor * random).
  std::chrono::nanoseconds jittered_retry();
  // A random share of `spread`, so that followers who see the same event do not all act at once.
  std::chrono::nanoseconds spread(std::chrono::nanoseconds spread);
  // The wait after a failed request, given the server's Retry-After if it sent one.
  std::chrono::nanoseconds after_failure(std::optional<std::chrono::milliseconds> retry_after);

 private:
  std::chrono::nanoseconds retry_period_;
  double jitter_factor_;
  std::chrono::seconds lease_duration_;
  std::function<double()> uniform01_;
  // Until the API server first answers, failures back off exponentially (start-up); afterwards
  // the loop retries at client-go's jittered retry period.
  bool contacted_ = false;
  std::chrono::nanoseconds startup_backoff_;
};

}  // namespace le::election
