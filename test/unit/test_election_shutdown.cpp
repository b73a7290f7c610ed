// The elector's shutdown (election/shutdown.h): a thread-safe stop request, then stopping proper;
// and every request bounded by the stopping timeout and the deadlines.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "election/shutdown.h"

using namespace std::chrono_literals;
using le::election::BootTime;
using le::election::Shutdown;

namespace {

const BootTime now{100h};

}  // namespace

TEST_CASE("before shutdown, requests take the full limit") {
  Shutdown shutdown(3s);
  CHECK_FALSE(shutdown.stopping());
  CHECK_FALSE(shutdown.begun());
  CHECK(shutdown.bound(5s, now) == 5s);
}

TEST_CASE("a stop request, from another thread, stops new terms and bounds requests") {
  Shutdown shutdown(3s);
  std::thread signal([&] { shutdown.request(now + 25s); });
  signal.join();
  CHECK(shutdown.stopping());
  CHECK_FALSE(shutdown.begun());  // leadership is still reported until stopping begins
  CHECK(shutdown.bound(5s, now) == 3s);
  CHECK(shutdown.bound(5s, now + 24s) == 1s);
  CHECK(shutdown.bound(5s, now + 26s) == -1s);  // past the deadline: the caller takes its smallest
}

TEST_CASE("stopping begins once, and its deadline bounds requests too") {
  Shutdown shutdown(3s);
  CHECK(shutdown.begin(now + 1500ms));
  CHECK(shutdown.stopping());
  CHECK(shutdown.begun());
  CHECK(shutdown.bound(5s, now + 1s) == 500ms);
  CHECK_FALSE(shutdown.begin(now + 25s));  // already begun
}

TEST_CASE("with both steps, the earlier deadline wins") {
  Shutdown shutdown(3s);
  shutdown.request(now + 2s);
  shutdown.begin(now + 10s);
  CHECK(shutdown.bound(5s, now) == 2s);
}
