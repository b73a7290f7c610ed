#pragma once
// Shutdown as the elector sees it, in two steps. A stop request may come from another thread (the
// signal's, through ElectionLoop::request_stop): from then on the elector starts no term, creates no
// Lease, and bounds every request by the deadline. Stopping proper begins on the election thread
// (ElectionLoop::hand_over): from then on this replica no longer reports leadership, though it still
// renews a Lease it holds until it releases it.
#include <atomic>
#include <chrono>
#include <optional>

#include "election/clock.h"

namespace le::election {

class Shutdown {
 public:
  // While shutting down, no request takes longer than `stopping_request_timeout`.
  explicit Shutdown(std::chrono::nanoseconds stopping_request_timeout)
      : stopping_request_timeout_(stopping_request_timeout) {}

  // Thread-safe: shutdown has been asked for, and must be over by `deadline`. An iteration already
  // under way on the election thread sees it at its next check.
  void request(BootTime deadline) {
    requested_deadline_ns_ = deadline.time_since_epoch().count();
    requested_ = true;
  }

  // Election thread: stop reporting leadership; no request made from now on runs past `deadline`.
  // Returns whether this call began it (false if it had begun already).
  bool begin(BootTime deadline) {
    requested_ = true;
    const bool first = !begun_deadline_;
    begun_deadline_ = deadline;
    return first;
  }

  // Shutdown has been asked for, by either step: start no term, create no Lease.
  bool stopping() const { return requested_; }
  // Stopping proper has begun (begin()): leadership is no longer reported.
  bool begun() const { return begun_deadline_.has_value(); }

  // The longest a request starting `now` may take: `limit`, and while stopping no more than the
  // stopping request timeout nor the time left to either step's deadline. Zero or less once a
  // deadline has passed: the caller rounds up to its smallest timeout.
  std::chrono::nanoseconds bound(std::chrono::nanoseconds limit, BootTime now) const;

 private:
  std::chrono::nanoseconds stopping_request_timeout_;
  // Written by request() on any thread, read on the election thread.
  std::atomic<bool> requested_{false};
  std::atomic<BootTime::rep> requested_deadline_ns_{0};  // 0: none requested
  // Election thread only: set by begin().
  std::optional<BootTime> begun_deadline_;
};

}  // namespace le::election
