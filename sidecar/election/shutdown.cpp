#include "election/shutdown.h"

#include <algorithm>

namespace le::election {

std::chrono::nanoseconds Shutdown::bound(std::chrono::nanoseconds limit, BootTime now) const {
  if (stopping()) limit = std::min(limit, stopping_request_timeout_);
  if (begun_deadline_) limit = std::min<std::chrono::nanoseconds>(limit, *begun_deadline_ - now);
  if (const auto requested_deadline = requested_deadline_ns_.load(); requested_deadline != 0) {
    limit = std::min<std::chrono::nanoseconds>(limit,
                                               BootTime{std::chrono::nanoseconds{requested_deadline}} - now);
  }
  return limit;
}

}  // namespace le::election
