#pragma once
// Two hand-driven clocks for the election tests: every timing case runs in microseconds.
#include "election/clock.h"

namespace le::testing {

class FakeClock final : public election::Clock {
 public:
  election::BootTime boot_now() const override { return boot_; }
  election::WallClockTime wall_now() const override { return wall_; }

  // Time passes for this process: both clocks move.
  void advance(std::chrono::nanoseconds d) {
    boot_ += d;
    wall_ += std::chrono::duration_cast<election::WallClockTime::duration>(d);
  }
  // Only one clock moves: a paused VM stops even the boot-time clock, and NTP steps the wall clock.
  void advance_boot(std::chrono::nanoseconds d) { boot_ += d; }
  void step_wall(std::chrono::nanoseconds d) {
    wall_ += std::chrono::duration_cast<election::WallClockTime::duration>(d);
  }

 private:
  election::BootTime boot_{std::chrono::hours{100}};
  election::WallClockTime wall_{std::chrono::seconds{1'700'000'000}};
};

}  // namespace le::testing
