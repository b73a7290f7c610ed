#pragma once
// The counters behind /metrics: written by the thread that does the work, read by a scrape,
// lock-free both ways (relaxed atomics: each figure is exact on its own, and a scrape never waits
// for the election, the watch or the routing, nor they for it).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace le::util {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A gauge that may not be known yet (nullopt until the first set).
class OptionalGauge {
 public:
  void set(double value) noexcept {
    value_.store(value, std::memory_order_relaxed);
    known_.store(true, std::memory_order_release);
  }
  std::optional<double> value() const noexcept {
    if (!known_.load(std::memory_order_acquire)) return std::nullopt;
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<double> value_{0};
  std::atomic<bool> known_{false};
};

// Durations in buckets with fixed upper bounds, in seconds. A scrape reads each bucket once and
// derives _count from them, so bucket lines and count always agree; the sum may lag them by the
// observations made during the read.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds_seconds);
  void observe(std::chrono::nanoseconds duration) noexcept;

  struct Reading {
    std::vector<std::uint64_t> bucket_counts;  // one per bound, then one past the last
    double sum_seconds = 0;
  };
  Reading read() const;
  std::span<const double> upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::int64_t> sum_ns_{0};
};

// client-go's rest_client_request_duration_seconds buckets.
std::vector<double> request_duration_buckets();

}  // namespace le::util
