// --app-health-url's check: the verdict by thresholds of checks in a row (HealthTally, plain
// calls), and the probe against a real local HTTP endpoint that answers 200, 503, or hangs, and
// a port where nothing listens. Nothing here asserts a timing: each wait is for a verdict, with a
// deadline far beyond what it needs.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "app_double.h"
#include "http/app_health_probe.h"
#include "util/metrics_text.h"

using namespace std::chrono_literals;
using le::http::AppHealthProbe;
using le::http::AppHealthSettings;
using le::http::HealthTally;

TEST_CASE("the verdict waits for its thresholds of checks in a row") {
  HealthTally tally(3, 2);
  CHECK_FALSE(tally.healthy().has_value());
  CHECK_FALSE(tally.record(true));
  CHECK(tally.record(true) == true);  // two good checks: healthy
  CHECK_FALSE(tally.record(false));
  CHECK_FALSE(tally.record(false));
  CHECK_FALSE(tally.record(true));  // a good check breaks the run of failures
  CHECK_FALSE(tally.record(false));
  CHECK_FALSE(tally.record(false));
  CHECK(tally.record(false) == false);  // three failures in a row: unhealthy
  CHECK_FALSE(tally.record(false));     // reported once
  CHECK_FALSE(tally.record(true));
  CHECK(tally.record(true) == true);
  CHECK(tally.healthy() == true);
}

TEST_CASE("an app that fails from the start gets a verdict after the failure threshold") {
  HealthTally tally(2, 1);
  CHECK_FALSE(tally.record(false));
  CHECK(tally.record(false) == false);
  CHECK(tally.record(true) == true);
}

namespace {

// A probe on an io_context thread of its own, recording every verdict it reports.
struct RunningProbe {
  explicit RunningProbe(const std::string& host, std::uint16_t port,
                        std::chrono::nanoseconds timeout = 200ms) {
    AppHealthSettings settings;
    settings.host = host;
    settings.port = port;
    settings.target = "/healthz";
    settings.url = "http://" + host + ":" + std::to_string(port) + "/healthz";
    settings.period = 20ms;
    settings.timeout = timeout;
    settings.failure_threshold = 2;
    settings.success_threshold = 1;
    probe = AppHealthProbe::create(io.get_executor(), settings, [this](bool healthy, const std::string& why) {
      std::lock_guard lock(mutex);
      verdicts.push_back(healthy);
      reasons.push_back(why);
    });
    probe->start();
    thread = std::thread([this] { io.run(); });
  }
  ~RunningProbe() {
    probe->stop();
    work.reset();
    thread.join();
  }
  std::optional<bool> last() {
    std::lock_guard lock(mutex);
    if (verdicts.empty()) return std::nullopt;
    return verdicts.back();
  }
  std::string last_reason() {
    std::lock_guard lock(mutex);
    return reasons.empty() ? "" : reasons.back();
  }
  bool eventually(std::optional<bool> verdict) {
    for (const auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until;) {
      if (last() == verdict) return true;
      std::this_thread::sleep_for(5ms);
    }
    return last() == verdict;
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::shared_ptr<AppHealthProbe> probe;
  std::thread thread;
  std::mutex mutex;
  std::vector<bool> verdicts;
  std::vector<std::string> reasons;
};

}  // namespace

TEST_CASE("the probe follows the app: 2xx healthy, 5xx unhealthy, a hang unhealthy, healthy again") {
  le::testing::AppDouble app;
  RunningProbe running("127.0.0.1", static_cast<std::uint16_t>(app.port()));
  REQUIRE(running.eventually(true));
  app.answer(503);
  REQUIRE(running.eventually(false));
  CHECK(running.last_reason() == "503");
  app.answer(204);
  REQUIRE(running.eventually(true));
  // An app that accepts and never answers is as unhealthy as one that answers 5xx.
  app.hang();
  REQUIRE(running.eventually(false));
  CHECK(running.last_reason() == "no answer within 200ms");
  app.answer(200);
  REQUIRE(running.eventually(true));
  // One verdict per change, none repeated.
  std::lock_guard lock(running.mutex);
  CHECK(running.verdicts == std::vector<bool>{true, false, true, false, true});
}

TEST_CASE("a port where nothing listens is a failed check, and the metrics count it") {
  int port = 0;
  {
    le::testing::AppDouble gone;  // a port that was free a moment ago, and is closed again
    port = gone.port();
  }
  RunningProbe running("127.0.0.1", static_cast<std::uint16_t>(port));
  REQUIRE(running.eventually(false));
  CHECK(running.last_reason().starts_with("cannot connect"));
  le::util::MetricsText out;
  running.probe->write_metrics(out, "demo");
  const std::string text = out.text();
  CHECK(text.find("lease_elector_app_healthy{lease=\"demo\"} 0") != std::string::npos);
  CHECK(text.find("lease_elector_app_health_checks_total{lease=\"demo\",result=\"failure\"} ") !=
        std::string::npos);
}

TEST_CASE("a host name is resolved, and stop() ends the checks") {
  le::testing::AppDouble app;
  {
    RunningProbe running("localhost", static_cast<std::uint16_t>(app.port()));
    // localhost may resolve to ::1 first, where the double does not listen; the IPv4 address follows.
    REQUIRE(running.eventually(true));
  }
  const int after_stop = app.requests();
  std::this_thread::sleep_for(100ms);
  CHECK(app.requests() == after_stop);
}
