#include "election/backoff.h"

#include <algorithm>

namespace le::election {

using namespace std::chrono;

nanoseconds Backoff::jittered_retry() {
  const double factor = 1.0 + jitter_factor_ * uniform01_();
  return duration_cast<nanoseconds>(duration<double, std::nano>(retry_period_.count() * factor));
}

nanoseconds Backoff::spread(nanoseconds spread) { return duration_cast<nanoseconds>(spread * uniform01_()); }

nanoseconds Backoff::after_failure(std::optional<milliseconds> retry_after) {
  if (!contacted_) {
    // Start-up: the API server has not answered yet. Back off exponentially up to one lease
    // duration.
    const nanoseconds delay = startup_backoff_;
    startup_backoff_ = std::min<nanoseconds>(startup_backoff_ * 2, lease_duration_);
    return delay;
  }
  nanoseconds delay = jittered_retry();
  if (retry_after) {
    // Honour Retry-After, but only up to the longest jittered wait: the loop must keep its pace to
    // renew before the deadline.
    delay = std::max(delay, std::min<nanoseconds>(
                                *retry_after, timing::longest_jittered_wait(retry_period_, jitter_factor_)));
  }
  return delay;
}

}  // namespace le::election
