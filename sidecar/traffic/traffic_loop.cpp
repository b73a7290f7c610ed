#include "traffic/traffic_loop.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace le::traffic {

using namespace std::chrono;

TrafficLoop::~TrafficLoop() { stop(); }

void TrafficLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void TrafficLoop::request_stop(election::BootTime deadline) {
  {
    std::lock_guard lock(mutex_);
    if (stop_requested_) return;
    stop_requested_ = true;
    stop_deadline_ = deadline;
  }
  wakeup_.notify_all();
}

void TrafficLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!stop_requested_) {
      stop_requested_ = true;
      stop_deadline_ = clock_.boot_now();
    }
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TrafficLoop::run() {
  for (;;) {
    bool stopping;
    election::BootTime deadline;
    {
      std::lock_guard lock(mutex_);
      stopping = stop_requested_;
      deadline = stop_deadline_;
    }
    if (stopping && (controller_.unrouted() || clock_.boot_now() >= deadline)) break;
    nanoseconds delay;
    try {
      // On shutdown no request may end after the deadline.
      delay = controller_.step(stopping ? std::optional{deadline} : std::nullopt);
    } catch (const std::exception& error) {
      // The clients turn failures into errors; anything else (memory) must not end routing.
      spdlog::error("routing step failed: {}", error.what());
      delay = seconds{1};
    }
    delay = std::min<nanoseconds>(delay, kPollInterval);
    if (stopping) delay = std::min<nanoseconds>(delay, deadline - clock_.boot_now());
    std::unique_lock lock(mutex_);
    wakeup_.wait_for(lock, std::max<nanoseconds>(delay, nanoseconds::zero()),
                     [&] { return stop_requested_ != stopping; });
  }
  if (!controller_.unrouted()) spdlog::warn("routing stopped before this pod's route could be removed");
}

}  // namespace le::traffic
