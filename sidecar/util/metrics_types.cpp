#include "util/metrics_types.h"

#include <algorithm>

namespace le::util {

Histogram::Histogram(std::vector<double> upper_bounds_seconds)
    : bounds_(std::move(upper_bounds_seconds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(std::chrono::nanoseconds duration) noexcept {
  const double seconds = std::chrono::duration<double>(duration).count();
  // The first bound at or above the value: Prometheus buckets are "less than or equal".
  const auto index =
      static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(duration.count(), std::memory_order_relaxed);
}

Histogram::Reading Histogram::read() const {
  Reading reading;
  reading.bucket_counts.reserve(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    reading.bucket_counts.push_back(counts_[i].load(std::memory_order_relaxed));
  reading.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return reading;
}

std::vector<double> request_duration_buckets() {
  return {0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0};
}

}  // namespace le::util
