// Kubernetes Events: client-go's correlation (a repeat patches the first Event's count, a token
// bucket per object), the JSON kube-apiserver gets, retries and drops, and the election's notices
// turned into client-go's LeaderElection Events.
#include <doctest/doctest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "kube/election_events.h"
#include "kube/event_recorder.h"
#include "scripted_transport.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::ElectionNotice;
using le::kube::ElectionEvents;
using le::kube::EventCorrelator;
using le::kube::EventRecord;
using le::kube::EventRecorder;
using le::kube::EventRecorderConfig;
using le::kube::HttpResponse;
using le::kube::TransportError;
using le::kube::TransportErrorKind;
using le::kube::testing::answer;
using le::kube::testing::ScriptedTransport;
using Json = nlohmann::json;
using Action = EventCorrelator::Decision::Action;

namespace {

EventRecord lease_event(std::string message = "app-0 became leader") {
  return {{"Lease", "coordination.k8s.io/v1", "default", "demo", "uid-1", "42"},
          false,
          "LeaderElection",
          std::move(message)};
}

const system_clock::time_point t0 = system_clock::time_point{seconds{1'780'000'000}};

// The recorder owns its transport; the test keeps the script.
struct Forwarding final : le::kube::HttpTransport {
  explicit Forwarding(ScriptedTransport& target) : target(target) {}
  le::kube::TransportResult request(std::string_view method, std::string_view path, std::string_view body,
                                    std::string_view content_type, milliseconds timeout) override {
    return target.request(method, path, body, content_type, timeout);
  }
  const std::string& server() const override { return target.server(); }
  ScriptedTransport& target;
};

struct Recorder {
  ScriptedTransport script;
  EventRecorder recorder;
  explicit Recorder(EventRecorderConfig config = quick())
      : recorder(std::make_unique<Forwarding>(script), std::move(config)) {}
  static EventRecorderConfig quick() {
    EventRecorderConfig config;
    config.instance = "app-0";
    config.retry_delay = 1ms;
    return config;
  }
  // Sends everything queued, on this thread.
  void drain() {
    recorder.stop(steady_clock::now() + 60s);
    recorder.run();
  }
  std::string metrics() const {
    le::util::MetricsText text;
    recorder.write_metrics(text);
    return text.text();
  }
};

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("correlation: a repeat patches the first Event's count, another message is a new Event") {
  EventCorrelator correlator;
  const auto first = correlator.decide(lease_event(), t0);
  CHECK(first.action == Action::create);
  CHECK(first.name == "demo.18b3d491b4320000");  // client-go's "<object name>.<hex nanoseconds>"
  correlator.sent(lease_event(), first.name, 1);
  const auto repeat = correlator.decide(lease_event(), t0 + 1s);
  CHECK(repeat.action == Action::patch);
  CHECK(repeat.name == first.name);
  CHECK(repeat.count == 2);
  correlator.sent(lease_event(), repeat.name, 2);
  CHECK(correlator.decide(lease_event(), t0 + 2s).count == 3);
  CHECK(correlator.decide(lease_event("app-0 stopped leading"), t0 + 3s).action == Action::create);
  // The Event expired on the server: the next is a new one.
  correlator.forget(lease_event());
  CHECK(correlator.decide(lease_event(), t0 + 4s).action == Action::create);
}

TEST_CASE("correlation: client-go's spam filter, 25 Events per object, then one every 5 minutes") {
  EventCorrelator correlator;
  for (int i = 0; i < 25; ++i) {
    CAPTURE(i);
    CHECK(correlator.decide(lease_event("message " + std::to_string(i)), t0).action == Action::create);
  }
  CHECK(correlator.decide(lease_event("one too many"), t0 + 1s).action == Action::rate_limited);
  // Another object has its own budget.
  auto pod = lease_event();
  pod.object = {"Pod", "v1", "default", "app-0", "uid-p", ""};
  CHECK(correlator.decide(pod, t0 + 1s).action == Action::create);
  CHECK(correlator.decide(lease_event("later"), t0 + 5min + 2s).action == Action::create);
  CHECK(correlator.decide(lease_event("too soon"), t0 + 5min + 3s).action == Action::rate_limited);
}

TEST_CASE("the Event kube-apiserver gets, then a repeat as a strategic merge patch of its count") {
  Recorder r;
  r.script.answers.push_back(answer(201, "{}"));
  r.script.answers.push_back(answer(200, "{}"));
  r.recorder.record(lease_event());
  r.recorder.record(lease_event());
  r.drain();
  REQUIRE(r.script.sent.size() == 2);
  const auto& create = r.script.sent[0];
  CHECK(create.method == "POST");
  CHECK(create.path == "/api/v1/namespaces/default/events");
  const auto body = Json::parse(create.body);
  CHECK(body["metadata"]["namespace"] == "default");
  const std::string name = body["metadata"]["name"];
  CHECK(name.rfind("demo.", 0) == 0);
  CHECK(body["involvedObject"] == Json{{"kind", "Lease"},
                                       {"namespace", "default"},
                                       {"name", "demo"},
                                       {"apiVersion", "coordination.k8s.io/v1"},
                                       {"uid", "uid-1"},
                                       {"resourceVersion", "42"}});
  CHECK(body["type"] == "Normal");
  CHECK(body["reason"] == "LeaderElection");
  CHECK(body["message"] == "app-0 became leader");
  CHECK(body["count"] == 1);
  CHECK(body["source"]["component"] == "lease-elector");
  CHECK(body["reportingInstance"] == "app-0");
  CHECK(body["firstTimestamp"] == body["lastTimestamp"]);
  CHECK(std::string(body["firstTimestamp"]).size() == 20);  // "2026-12-03T22:00:00Z"
  const auto& patch = r.script.sent[1];
  CHECK(patch.method == "PATCH");
  CHECK(patch.path == "/api/v1/namespaces/default/events/" + name);
  CHECK(patch.content_type == "application/strategic-merge-patch+json");
  CHECK(Json::parse(patch.body)["count"] == 2);
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="sent"} 1)"));
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="aggregated"} 1)"));
}

TEST_CASE("a repeat of an Event that expired on the server creates a new one") {
  Recorder r;
  r.script.answers.push_back(answer(201, "{}"));
  r.script.answers.push_back(answer(404, R"({"kind":"Status","code":404,"reason":"NotFound"})"));
  r.script.answers.push_back(answer(201, "{}"));
  r.recorder.record(lease_event());
  r.recorder.record(lease_event());
  r.drain();
  REQUIRE(r.script.sent.size() == 3);
  CHECK(r.script.sent[1].method == "PATCH");
  CHECK(r.script.sent[2].method == "POST");
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="sent"} 2)"));
}

TEST_CASE("a failing Events API is retried a few times, a 403 not at all, both counted and never thrown") {
  Recorder r;
  r.script.answers.push_back(answer(500, R"({"kind":"Status","code":500})"));
  r.script.answers.push_back(TransportError{TransportErrorKind::timeout, "POST x: timeout"});
  r.script.answers.push_back(answer(201, "{}"));
  r.script.answers.push_back(answer(403, R"({"kind":"Status","code":403,"reason":"Forbidden"})"));
  r.recorder.record(lease_event("first"));
  r.recorder.record(lease_event("second"));
  r.drain();
  CHECK(r.script.sent.size() == 4);  // three tries of the first, one of the second
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="sent"} 1)"));
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="failed"} 1)"));
}

TEST_CASE("a full queue drops and counts: record() never waits for the API server") {
  auto config = Recorder::quick();
  config.queue_limit = 2;
  Recorder r(config);
  for (int i = 0; i < 5; ++i) r.recorder.record(lease_event("event " + std::to_string(i)));
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="dropped_queue_full"} 3)"));
  r.script.answers.push_back(answer(201, "{}"));
  r.script.answers.push_back(answer(201, "{}"));
  r.drain();
  CHECK(r.script.sent.size() == 2);
}

TEST_CASE("after the stop deadline nothing more is sent") {
  Recorder r;
  r.recorder.record(lease_event());
  r.recorder.stop(steady_clock::now() - 1s);
  r.recorder.run();
  CHECK(r.script.sent.empty());
  CHECK(has(r.metrics(), R"(lease_elector_events_total{outcome="failed"} 1)"));
}

TEST_CASE(
    "notices become client-go's LeaderElection Events, on the Lease and on the Pod when its uid is known") {
  for (const bool pod_uid_known : {true, false}) {
    CAPTURE(pod_uid_known);
    Recorder r;
    for (int i = 0; i < 6; ++i) r.script.answers.push_back(answer(201, "{}"));
    ElectionEvents events(r.recorder, {"app-0", "default", "demo", "app-0", pod_uid_known ? "pod-uid" : ""});
    ElectionNotice became;
    became.kind = ElectionNotice::Kind::became_leader;
    became.lease_uid = "lease-uid";
    events.on_notice(became);
    ElectionNotice stopped = became;
    stopped.kind = ElectionNotice::Kind::stopped_leading;
    events.on_notice(stopped);
    ElectionNotice failing = became;
    failing.kind = ElectionNotice::Kind::renew_failing;
    failing.detail = "3 renewals failed";
    events.on_notice(failing);
    r.drain();
    std::vector<Json> bodies;
    for (const auto& sent : r.script.sent) bodies.push_back(Json::parse(sent.body));
    REQUIRE(bodies.size() == (pod_uid_known ? 5u : 3u));
    CHECK(bodies[0]["involvedObject"]["kind"] == "Lease");
    CHECK(bodies[0]["involvedObject"]["uid"] == "lease-uid");
    CHECK(bodies[0]["message"] == "app-0 became leader");
    if (pod_uid_known) {
      CHECK(bodies[1]["involvedObject"]["kind"] == "Pod");
      CHECK(bodies[1]["involvedObject"]["uid"] == "pod-uid");
      CHECK(bodies[1]["message"] == "app-0 became leader");
      CHECK(bodies[2]["message"] == "app-0 stopped leading");
    } else {
      CHECK(bodies[1]["message"] == "app-0 stopped leading");
    }
    // The Warning goes to the Pod where it is known, else to the Lease.
    const Json& warning = bodies.back();
    CHECK(warning["type"] == "Warning");
    CHECK(warning["reason"] == "RenewFailing");
    CHECK(warning["involvedObject"]["kind"] == (pod_uid_known ? "Pod" : "Lease"));
    CHECK(warning["message"] == "app-0: 3 renewals failed");
  }
}

TEST_CASE("past the shutdown's request deadline Events are dropped, and the loop ends only at stop()") {
  Recorder r;
  r.recorder.bound_requests(steady_clock::now() - 1s);
  r.recorder.record(lease_event());
  std::thread sender([&] { r.recorder.run(); });
  // The loop drops the Event and keeps waiting; stop() ends it.
  while (r.metrics().find(R"(lease_elector_events_total{outcome="failed"} 1)") == std::string::npos)
    std::this_thread::sleep_for(1ms);
  r.recorder.stop(steady_clock::now() + 60s);
  sender.join();
  CHECK(r.script.sent.empty());
}

TEST_CASE(
    "an Event request sent during shutdown is bounded by the shutdown's request deadline, not only by "
    "stop()") {
  // The process waits for an Event request in flight before it exits: one sent with the full
  // request timeout after SIGTERM could keep it past the shutdown budget (found by the routing
  // shutdown test under the sanitizers, 27.0 s against 27 s).
  Recorder r;
  r.script.answers.push_back(answer(201, "{}"));
  r.recorder.bound_requests(steady_clock::now() + 60s);
  r.recorder.record(lease_event());
  r.drain();
  REQUIRE(r.script.sent.size() == 1);
  CHECK(r.script.sent[0].timeout <= 60s);
  CHECK(r.script.sent[0].timeout > 0s);
  CHECK(r.script.sent[0].timeout < EventRecorderConfig{}.request_timeout + 1ms);

  Recorder bounded;
  bounded.script.answers.push_back(answer(201, "{}"));
  bounded.recorder.bound_requests(steady_clock::now() + 2s);
  bounded.recorder.record(lease_event());
  bounded.drain();  // stop() 60 s away: only the request deadline bounds the request
  REQUIRE(bounded.script.sent.size() == 1);
  CHECK(bounded.script.sent[0].timeout <= 2s);
}
