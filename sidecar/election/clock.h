#pragma once
// Two clocks, kept apart (as Envoy's TimeSource does). The boot-time clock judges expiry of others'
// leases and our own deadline; the wall clock writes MicroTime strings and is a second, stricter
// check on our own deadline, because a paused VM stops even the boot-time clock.
#include <chrono>

namespace le::election {

// CLOCK_BOOTTIME: monotonic, and keeps counting while the machine is suspended. One clock for
// every process on the machine, so tests can compare instants across processes.
struct BootClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<BootClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};
using BootTime = BootClock::time_point;
using WallClockTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual BootTime boot_now() const = 0;
  virtual WallClockTime wall_now() const = 0;
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  BootTime boot_now() const override { return BootClock::now(); }
  WallClockTime wall_now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace le::election
