#pragma once
// Runs a Router on its own thread, next to the election loop: it reads the published snapshot
// (never the elector), so the election is never slowed by routing. On stop, it keeps unrouting
// this Pod until done or the budget ends. The only coupling with the election's hand-over is
// the snapshot: once shutdown begins (SnapshotBoard::mark_stopping), the router sees no
// leadership and removes this Pod's route while the election loop waits out the release delay.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "route/router.h"

namespace le::route {

class RoutingLoop {
 public:
  // How often the snapshot is looked at, so a change of leadership is acted on within this.
  static constexpr std::chrono::milliseconds kPollInterval{50};

  RoutingLoop(Router& router, const election::Clock& clock) : router_(router), clock_(clock) {}
  ~RoutingLoop();

  void start();
  // Stop leading on the route (if not already) and return once this Pod is unrouted or
  // `budget` has passed. Thread-safe; idempotent.
  void stop(std::chrono::nanoseconds budget);

 private:
  void run();

  Router& router_;
  const election::Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stop_requested_ = false;
  election::BootTime stop_deadline_{};
  std::thread thread_;
};

}  // namespace le::route
