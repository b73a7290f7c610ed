// The lock-free counters behind /metrics and the histogram lines of the exposition text.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "util/metrics_text.h"
#include "util/metrics_types.h"

using namespace std::chrono_literals;
using le::util::Histogram;
using le::util::MetricsText;

TEST_CASE("a histogram bucket holds values up to and including its bound") {
  Histogram h({0.1, 1, 10});
  h.observe(100ms);  // exactly 0.1: the first bucket
  h.observe(101ms);  // the second
  h.observe(1s);     // the second
  h.observe(20s);    // past the last bound
  const auto reading = h.read();
  CHECK(reading.bucket_counts == std::vector<std::uint64_t>{1, 2, 0, 1});
  CHECK(reading.sum_seconds == doctest::Approx(21.201));
}

TEST_CASE("histogram lines: cumulative buckets, +Inf, _sum and _count that agree") {
  Histogram h({0.005, 0.025});
  h.observe(1ms);
  h.observe(20ms);
  h.observe(30ms);
  const auto reading = h.read();
  MetricsText text;
  text.family("x_seconds", MetricsText::Type::histogram, "help");
  text.histogram("x_seconds", {{"verb", "PUT"}}, h.upper_bounds(), reading.bucket_counts,
                 reading.sum_seconds);
  CHECK(text.text() ==
        "# HELP x_seconds help\n"
        "# TYPE x_seconds histogram\n"
        "x_seconds_bucket{verb=\"PUT\",le=\"0.005\"} 1\n"
        "x_seconds_bucket{verb=\"PUT\",le=\"0.025\"} 2\n"
        "x_seconds_bucket{verb=\"PUT\",le=\"+Inf\"} 3\n"
        "x_seconds_sum{verb=\"PUT\"} 0.051\n"
        "x_seconds_count{verb=\"PUT\"} 3\n");
}

TEST_CASE("counters and histograms lose nothing under concurrent writers") {
  le::util::Counter counter;
  Histogram h({0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        counter.add();
        h.observe(1s);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(counter.value() == 40'000);
  CHECK(h.read().bucket_counts == std::vector<std::uint64_t>{0, 40'000});
  CHECK(h.read().sum_seconds == doctest::Approx(40'000));
}

TEST_CASE("an optional gauge is absent until set") {
  le::util::OptionalGauge gauge;
  CHECK_FALSE(gauge.value().has_value());
  gauge.set(-0.25);
  CHECK(gauge.value() == -0.25);
}
