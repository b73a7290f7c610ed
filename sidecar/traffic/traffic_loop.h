#pragma once
// Runs a TrafficController on its own thread, next to the election loop: it reads the published snapshot
// (never the elector), so the election is never slowed by routing. The only coupling with the
// election's hand-over is the snapshot and the shutdown deadline: once shutdown begins
// (SnapshotBoard::mark_stopping), the controller sees no leadership and removes this Pod's route while
// the election loop waits out the release delay, and both are over by the same deadline, so
// waiting for the traffic loop after the hand-over adds nothing to the shutdown budget.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "traffic/traffic_controller.h"

namespace le::traffic {

class TrafficLoop {
 public:
  // How often the snapshot is looked at, so a change of leadership is acted on within this.
  static constexpr std::chrono::milliseconds kPollInterval{50};

  TrafficLoop(TrafficController& controller, const election::Clock& clock)
      : controller_(controller), clock_(clock) {}
  ~TrafficLoop();

  void start();
  // Shutdown has begun and must be over by `deadline` (the election loop's: one budget for the
  // whole process). Returns at once, so the signal handler calls it: from then on the controller only
  // removes this Pod's route, no request ends after the deadline, and the loop ends once this Pod
  // is unrouted or at the deadline. Thread-safe; the first call counts.
  void request_stop(election::BootTime deadline);
  // Returns once the loop has ended. Without a request_stop() before, the deadline is now: only a
  // request under way is waited for. Thread-safe; idempotent.
  void stop();

 private:
  void run();

  TrafficController& controller_;
  const election::Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stop_requested_ = false;
  election::BootTime stop_deadline_{};
  std::thread thread_;
};

}  // namespace le::traffic
