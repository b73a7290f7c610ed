#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>

#include "fake_clock.h"
#include "memory_traffic_api.h"
#include "traffic/mode_factory.h"

using le::testing::MemoryPods;
using le::testing::MemorySlices;
using le::testing::Versions;
using le::traffic::ModeKind;
using namespace std::chrono;

namespace {

struct Built {
  Versions versions;
  int pod_clients = 0;
  int slice_clients = 0;
  le::testing::FakeClock clock;
  le::traffic::ModeParts parts;

  explicit Built(ModeKind kind) {
    le::traffic::ModeSettings settings;
    settings.kind = kind;
    settings.pods = {"app-0", "app=demo"};
    settings.label_key = "leader";
    settings.label_value = "true";
    settings.readiness_gate = "example.com/leader";
    settings.endpoints = {"svc", "app-0", "10.0.0.1", {{"http", 8080, "TCP"}}};
    parts = le::traffic::make_mode(settings,
                                   {[this] {
                                      ++pod_clients;
                                      return std::make_unique<MemoryPods>(versions);
                                    },
                                    [this] {
                                      ++slice_clients;
                                      return std::make_unique<MemorySlices>(versions);
                                    }},
                                   clock);
  }
};

}  // namespace

TEST_CASE("the mode factory builds the chosen mode with only the clients it writes through") {
  struct Case {
    ModeKind kind;
    const char* mode;  // "" : no mode
    int pod_clients;
    int slice_clients;
  };
  for (const Case& c : {Case{ModeKind::readiness, "", 0, 0}, Case{ModeKind::label, "label", 1, 0},
                        Case{ModeKind::readiness_gate, "readiness-gate", 1, 0},
                        Case{ModeKind::endpoints, "endpoints", 0, 1}}) {
    CAPTURE(c.mode);
    Built built(c.kind);
    CHECK(built.pod_clients == c.pod_clients);
    CHECK(built.slice_clients == c.slice_clients);
    CHECK((built.parts.pods != nullptr) == (c.pod_clients == 1));
    CHECK((built.parts.slices != nullptr) == (c.slice_clients == 1));
    if (*c.mode == '\0') {
      CHECK(built.parts.mode == nullptr);
    } else {
      REQUIRE(built.parts.mode != nullptr);
      CHECK(built.parts.mode->mode() == c.mode);
    }
  }
}

TEST_CASE("the readiness gate's probe time comes from the injected wall clock, in UTC seconds") {
  Built built(ModeKind::readiness_gate);
  auto& pods = static_cast<MemoryPods&>(*built.parts.pods);
  pods.add("app-0", {{"app", "demo"}});
  const system_clock::time_point wanted =
      sys_days{year{2026} / 12 / 3} + hours{10} + seconds{5} + milliseconds{900};
  built.clock.step_wall(wanted - built.clock.wall_now());
  const auto attempt = built.parts.mode->lead(
      "app-0@t/1", [] { return std::optional<milliseconds>{1000}; }, [] { return milliseconds{1000}; });
  CHECK(attempt.kind == le::traffic::Attempt::Kind::done);
  const auto* own = pods.pods["app-0"].condition("example.com/leader");
  REQUIRE(own);
  CHECK(own->status == "True");
  CHECK(own->last_probe_time == "2026-12-03T10:00:05Z");
}
