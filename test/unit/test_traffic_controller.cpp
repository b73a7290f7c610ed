// The routing state machine against in-memory Pods and EndpointSlices: every mode's protocol,
// the fencing that makes a deposed leader's delayed write fail, step-down, RBAC denial.
#include <doctest/doctest.h>

#include <memory>

#include "fake_clock.h"
#include "memory_traffic_api.h"
#include "traffic/endpoints_mode.h"
#include "traffic/pod_modes.h"
#include "traffic/traffic_controller.h"
#include "traffic/traffic_loop.h"
#include "util/micro_time.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;
using le::election::SnapshotBoard;
using le::testing::FakeClock;
using le::testing::MemoryPods;
using le::testing::MemorySlices;
using le::testing::Versions;
using le::traffic::milliseconds;
using le::traffic::TrafficController;
using le::traffic::TrafficControllerConfig;

namespace {

constexpr const char* kLabel = "lease-elector.io/leader";
constexpr const char* kGate = "lease-elector.io/leader";

// One replica: its clock, its published election state and its controller.
struct Replica {
  std::string name;
  FakeClock clock;
  SnapshotBoard board;
  std::unique_ptr<le::traffic::TrafficMode> route;
  std::unique_ptr<TrafficController> controller;

  Replica(std::string pod, std::unique_ptr<le::traffic::TrafficMode> r)
      : name(std::move(pod)), route(std::move(r)) {
    TrafficControllerConfig config;
    config.identity = name;
    config.namespace_name = "default";
    config.request_timeout = 5000ms;
    config.check_period = 2s;
    controller = std::make_unique<TrafficController>(*route, board, clock, config);
  }
  // Leads for `left` from now: renews the current election term, or begins a new one when the last
  // snapshot did not lead.
  void lead(std::chrono::nanoseconds left = 10s) {
    if (!leading) begin_term();
    publish_leading(left);
  }
  // Leads in a new election term at once: the previous term ended (another replica may have led
  // meanwhile) without the controller seeing a snapshot that does not lead.
  void lead_new_term(std::chrono::nanoseconds left = 10s) {
    begin_term();
    publish_leading(left);
  }
  void follow() {
    leading = false;
    board.publish(std::make_shared<ElectionSnapshot>());
  }
  std::uint64_t term = 0;  // this process's last election term (ElectionSnapshot::term)
  bool leading = false;
  le::election::WallClockTime acquired{};
  void step() { controller->step(); }

 private:
  void begin_term() {
    ++term;
    acquired = clock.wall_now();
    leading = true;
  }
  // As the elector publishes its own record: holder, the term's acquireTime, the term's number.
  void publish_leading(std::chrono::nanoseconds left) {
    auto s = std::make_shared<ElectionSnapshot>();
    s->identity = name;
    le::election::LeaderRecord record;
    record.holder_identity = name;
    record.acquire_time = le::util::to_micro(acquired);
    record.renew_time = le::util::to_micro(clock.wall_now());
    s->observed = record;
    s->record_is_ours = true;
    s->term = term;
    s->renew_sent_boot = clock.boot_now();
    s->renew_sent_wall = clock.wall_now();
    s->renew_deadline = left;
    board.publish(s);
  }
};

std::unique_ptr<Replica> label_replica(MemoryPods& pods, const std::string& name) {
  return std::make_unique<Replica>(name,
                                   le::traffic::make_label_mode(pods, {name, "app=demo"}, kLabel, "true"));
}

int probe_counter = 0;
std::unique_ptr<Replica> gate_replica(MemoryPods& pods, const std::string& name) {
  return std::make_unique<Replica>(name, le::traffic::make_gate_mode(pods, {name, "app=demo"}, kGate, [] {
                                     return "2026-11-25T10:00:" + std::to_string(10 + probe_counter++ % 50) +
                                            "Z";
                                   }));
}

std::unique_ptr<Replica> endpoints_replica(MemorySlices& slices, const std::string& name,
                                           const std::string& ip) {
  return std::make_unique<Replica>(
      name, le::traffic::make_endpoints_mode(slices, {"web", name, ip, {{"http", 8080, "TCP"}}}));
}

using Names = std::vector<std::string>;

}  // namespace

namespace doctest {
template <>
struct StringMaker<Names> {
  static String convert(const Names& names) {
    std::string text = "{";
    for (const auto& n : names) text += (text.size() > 1 ? ", " : "") + n;
    return (text + "}").c_str();
  }
};
}  // namespace doctest

TEST_CASE("label: a new leader fences a stale labelled pod from a crashed leader, then labels itself") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}, {kLabel, "true"}});  // the crashed leader's leftover
  pods.add("app-1", {{"app", "demo"}});
  pods.add("app-2", {{"app", "demo"}});
  pods.add("other", {{"app", "else"}, {kLabel, "true"}});  // another workload: never touched
  auto b = label_replica(pods, "app-1");
  b->lead();
  b->step();
  CHECK(b->controller->routed());
  CHECK(pods.labelled(kLabel) == Names{"app-1", "other"});
  // Every other pod of the workload carries this term's fence, labelled or not.
  for (const char* name : {"app-0", "app-2"}) {
    CAPTURE(name);
    CHECK(pods.pods[name].annotations.at(le::traffic::kFencedByAnnotation) == *b->controller->term());
  }
  CHECK(pods.pods["other"].annotations.empty());
  CHECK(pods.writes == 3);

  SUBCASE("the stray check writes nothing while all is well, and fixes a stray label") {
    b->clock.advance(2s);
    b->lead();
    b->step();
    CHECK(pods.writes == 3);
    pods.pods["app-2"].labels[kLabel] = "true";
    pods.pods["app-2"].resource_version = versions.next();
    b->step();  // before the check period: nothing
    CHECK(pods.labelled(kLabel) == Names{"app-1", "app-2", "other"});
    b->clock.advance(2s);
    b->lead();
    b->step();
    CHECK(pods.labelled(kLabel) == Names{"app-1", "other"});
  }
  SUBCASE("stepping down removes the label") {
    b->follow();
    b->step();
    CHECK_FALSE(b->controller->routed());
    CHECK(b->controller->unrouted());
    CHECK(pods.labelled(kLabel) == Names{"other"});
  }
}

TEST_CASE("label: a deposed leader's delayed label write fails against the new leader's fence") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}});
  pods.add("app-1", {{"app", "demo"}});
  auto a = label_replica(pods, "app-0");
  auto b = label_replica(pods, "app-1");
  a->lead();
  // A's first write (the fence of app-1) goes through. While its second, "label app-0", is in
  // flight (read and checked, not yet applied), A's leadership ends and B takes over: B fences
  // app-0 and labels app-1. Then A's write lands.
  pods.before_next_write = [&] {
    pods.before_next_write = [&] {
      a->follow();
      b->lead();
      b->step();
      REQUIRE(b->controller->routed());
    };
  };
  a->step();
  CHECK(pods.writes == 4);  // A: fence, label (fails); B: fence, label
  CHECK(pods.labelled(kLabel) == Names{"app-1"});
  CHECK(a->controller->last_error().find("mark pod app-0") != std::string::npos);
  CHECK(a->controller->last_error().find("409") != std::string::npos);
  // /metrics: A's fence went through and its label write lost; B's two writes went through.
  using le::traffic::RoutingMetrics;
  CHECK(a->controller->metrics().writes[RoutingMetrics::success].value() == 1);
  CHECK(a->controller->metrics().writes[RoutingMetrics::conflict].value() == 1);
  CHECK(b->controller->metrics().writes[RoutingMetrics::success].value() == 2);
  CHECK(b->controller->metrics().writes[RoutingMetrics::conflict].value() == 0);
  // A, no longer leading, does not try again; and its own pod is clean.
  a->step();
  CHECK(pods.labelled(kLabel) == Names{"app-1"});
}

TEST_CASE("label: a deposed leader's delayed fence cannot unlabel the new leader") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}});
  pods.add("app-1", {{"app", "demo"}});
  auto a = label_replica(pods, "app-0");
  auto b = label_replica(pods, "app-1");
  a->lead();
  // A's fence of app-1 is in flight when B takes over and labels app-1.
  pods.before_next_write = [&] {
    a->follow();
    b->lead();
    b->step();
  };
  a->step();
  CHECK(pods.labelled(kLabel) == Names{"app-1"});
  CHECK(a->controller->last_error().find("fence pod app-1") != std::string::npos);
}

TEST_CASE("label: two quick handovers leave exactly one labelled pod") {
  Versions versions;
  MemoryPods pods(versions);
  for (const char* n : {"app-0", "app-1", "app-2"}) pods.add(n, {{"app", "demo"}});
  auto a = label_replica(pods, "app-0");
  auto b = label_replica(pods, "app-1");
  auto c = label_replica(pods, "app-2");
  a->lead();
  a->step();
  CHECK(pods.labelled(kLabel) == Names{"app-0"});
  // A loses leadership without a chance to clean up (it is partitioned); B leads, then C.
  b->lead();
  b->step();
  CHECK(pods.labelled(kLabel) == Names{"app-1"});
  b->follow();
  c->lead();
  c->step();
  CHECK(pods.labelled(kLabel) == Names{"app-2"});
  a->follow();
  a->step();
  b->step();
  CHECK(pods.labelled(kLabel) == Names{"app-2"});
}

TEST_CASE("label: a restarted container whose pod still carries the label removes it as a follower") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}, {kLabel, "true"}});
  auto a = label_replica(pods, "app-0");
  a->follow();
  a->step();
  CHECK(pods.labelled(kLabel).empty());
  CHECK(a->controller->unrouted());
}

TEST_CASE("every routing write is bounded by the leadership left, and none starts too close to its end") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}});
  pods.add("app-1", {{"app", "demo"}});
  auto a = label_replica(pods, "app-0");
  a->lead(300ms);
  a->step();
  REQUIRE(pods.write_timeouts.size() == 2);
  for (auto t : pods.write_timeouts) CHECK(t <= 300ms);

  Versions v2;
  MemoryPods late(v2);
  late.add("app-0", {{"app", "demo"}});
  auto b = label_replica(late, "app-0");
  b->lead(10ms);  // less than the minimum a write needs
  b->step();
  CHECK(late.writes == 0);
  CHECK(late.labelled(kLabel).empty());
}

TEST_CASE("RBAC denial: a clear message naming the rule to add, backoff, no exception") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}});
  pods.denied = {"patch pods"};
  auto a = label_replica(pods, "app-0");
  a->lead();
  const auto wait = a->controller->step();
  CHECK_FALSE(a->controller->routed());
  const auto& message = a->controller->last_error();
  CAPTURE(message);
  CHECK(message.find("cannot patch pods in namespace default: add this rule to the Role: {apiGroups: [\"\"], "
                     "resources: [\"pods\"], verbs: [\"patch\"]}") != std::string::npos);
  CHECK(wait > 0ms);
  CHECK(a->controller->metrics().writes[le::traffic::RoutingMetrics::forbidden].value() == 1);
  // Granted later: the next attempt after the backoff succeeds.
  pods.denied.clear();
  a->clock.advance(wait);
  a->lead();
  a->step();
  CHECK(a->controller->routed());
}

TEST_CASE(
    "readiness-gate: fence others False with a fresh probe time, then own True; kubelet conditions kept") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}});
  pods.add("app-1", {{"app", "demo"}});
  pods.pods["app-0"].conditions.push_back({kGate, "True", "", "", "", "2026-01-01T00:00:00Z"});  // stale
  auto b = gate_replica(pods, "app-1");
  b->lead();
  b->step();
  CHECK(pods.with_condition_true(kGate) == Names{"app-1"});
  const auto* fenced = pods.pods["app-0"].condition(kGate);
  REQUIRE(fenced);
  CHECK(fenced->status == "False");
  CHECK(fenced->message.find(*b->controller->term()) != std::string::npos);
  CHECK_FALSE(fenced->last_probe_time.empty());
  for (const char* n : {"app-0", "app-1"}) {
    CAPTURE(n);
    REQUIRE(pods.pods[n].condition("Ready"));
    CHECK(pods.pods[n].condition("Ready")->status == "True");
  }

  SUBCASE("a deposed leader's delayed True fails") {
    auto a = gate_replica(pods, "app-0");
    b->follow();
    b->step();
    CHECK(pods.with_condition_true(kGate).empty());
    a->lead();
    pods.before_next_write = [&] {};  // the fence of app-1 goes through
    a->step();
    CHECK(pods.with_condition_true(kGate) == Names{"app-0"});
    // Now B leads again while A's re-mark (after a stray check found it unmarked) is delayed.
    pods.pods["app-0"].conditions.back().status = "False";
    pods.pods["app-0"].resource_version = versions.next();
    a->clock.advance(2s);
    a->lead();
    pods.before_next_write = [&] {
      a->follow();
      b->lead();
      b->step();
    };
    a->step();
    CHECK(pods.with_condition_true(kGate) == Names{"app-1"});
  }
}

TEST_CASE("endpoints: create, take over with a conditional update, step down, and fence a delayed write") {
  Versions versions;
  MemorySlices slices(versions);
  auto a = endpoints_replica(slices, "app-0", "10.0.0.1");
  auto b = endpoints_replica(slices, "app-1", "10.0.0.2");
  const std::string name = le::traffic::slice_name_for("web");
  a->lead();
  a->step();
  REQUIRE(slices.slices.count(name));
  CHECK(slices.slices[name].addresses == Names{"10.0.0.1"});
  CHECK(slices.slices[name].labels.at("kubernetes.io/service-name") == "web");
  CHECK(slices.slices[name].labels.at("endpointslice.kubernetes.io/managed-by") == "lease-elector.io");

  SUBCASE("handover without a release") {
    b->lead();
    b->step();
    CHECK(slices.slices[name].addresses == Names{"10.0.0.2"});
    a->follow();
    a->step();  // its address is gone already: nothing to write
    CHECK(slices.slices[name].addresses == Names{"10.0.0.2"});
  }
  SUBCASE("step down empties the slice") {
    a->follow();
    a->step();
    CHECK(slices.slices[name].addresses.empty());
  }
  SUBCASE(
      "a deposed leader's delayed update fails, even when the new leader's write equals the old content") {
    // A leads again in a new term with the slice already pointing at it; B takes over in the
    // middle of A's write. A fresh term annotation makes B's write a change, so A's fails.
    a->follow();
    a->step();
    a->lead();
    slices.before_next_write = [&] {
      a->follow();
      b->lead();
      b->step();
    };
    a->step();
    CHECK(slices.slices[name].addresses == Names{"10.0.0.2"});
  }
}

// Issue 10, part 4: the controller's term is an election term. A read lasts as long as the request
// timeout, not as long as the leadership, and the routing thread may not run for a while: a whole
// term of another leader can pass inside one TrafficMode::lead call, or between two steps. The next term
// must then fence every other Pod again, because a write sent in the other leader's term may be
// stuck in a queue, built on a Pod this replica fenced in its previous term.
namespace {

struct PodMode {
  const char* name;
  std::unique_ptr<Replica> (*make)(MemoryPods&, const std::string&);
  Names (*routed)(const MemoryPods&);
};
const PodMode kPodModes[] = {
    {"label", label_replica, [](const MemoryPods& pods) { return pods.labelled(kLabel); }},
    {"readiness-gate", gate_replica, [](const MemoryPods& pods) { return pods.with_condition_true(kGate); }},
};

// Steps, then steps again until the controller reports this Pod routed (a step ends early when it
// finds the term changed).
void step_until_routed(Replica& r) {
  r.step();
  for (int i = 0; i < 3 && !r.controller->routed(); ++i) r.step();
  REQUIRE(r.controller->routed());
}

}  // namespace

TEST_CASE("pod modes: a list that outlasts another leader's whole term - the new term fences again") {
  for (const auto& mode : kPodModes) {
    // Whether A's board showed the end of term 1 before term 2 (A's controller is inside its list
    // either way, so it can only tell by the term number).
    for (const bool gap_published : {true, false}) {
      const std::string mode_name = mode.name;
      CAPTURE(mode_name);
      CAPTURE(gap_published);
      Versions versions;
      MemoryPods pods(versions);
      pods.add("app-0", {{"app", "demo"}});
      pods.add("app-1", {{"app", "demo"}});
      auto a = mode.make(pods, "app-0");
      auto b = mode.make(pods, "app-1");
      a->lead();
      a->step();  // term 1: fences app-1, marks app-0
      REQUIRE(mode.routed(pods) == Names{"app-0"});
      const std::string term_1 = *a->controller->term();

      // A's stray check lists the Pods, and the list takes longer than a whole term: A's term 1
      // ends; B leads, fences app-0 and sends its mark of app-1, built on app-1 as A fenced it in
      // term 1; that write is stuck in a queue. B's term ends, and A leads again in term 2.
      a->clock.advance(2s);
      a->lead();
      pods.during_next_read = [&] {
        if (gap_published) a->follow();
        b->lead();
        pods.hold_next_write_to = "app-1";
        b->step();
        REQUIRE(mode.routed(pods).empty());
        b->follow();
        a->lead_new_term();
      };
      // The list answers: app-0 fenced by B, app-1 unmarked and still fenced with A's term 1. Acting
      // for term 1 would skip app-1 and mark app-0: the step must write nothing.
      a->step();
      CHECK(mode.routed(pods).empty());
      // B's late mark lands at any time from now on; here before A's next step.
      CHECK(pods.land_held_write());
      CHECK(mode.routed(pods) == Names{"app-1"});
      // Term 2 fences app-1 again before it marks app-0.
      step_until_routed(*a);
      CHECK(*a->controller->term() != term_1);
      CHECK(mode.routed(pods) == Names{"app-0"});
    }
  }
}

TEST_CASE("pod modes: a routing thread that sleeps through another leader's whole term starts a new term") {
  for (const auto& mode : kPodModes) {
    const std::string mode_name = mode.name;
    CAPTURE(mode_name);
    Versions versions;
    MemoryPods pods(versions);
    pods.add("app-0", {{"app", "demo"}});
    pods.add("app-1", {{"app", "demo"}});
    auto a = mode.make(pods, "app-0");
    auto b = mode.make(pods, "app-1");
    a->lead();
    a->step();
    REQUIRE(mode.routed(pods) == Names{"app-0"});
    // A's routing thread is not scheduled while A's term 1 ends, B leads (its mark of app-1 stuck
    // in a queue), B's term ends and A's term 2 begins. Its next step sees only term 2.
    a->follow();
    b->lead();
    pods.hold_next_write_to = "app-1";
    b->step();
    b->follow();
    a->clock.advance(2s);
    a->lead();
    REQUIRE(a->term == 2);
    a->step();
    CHECK(a->controller->routed());
    CHECK(mode.routed(pods) == Names{"app-0"});
    CHECK_FALSE(pods.land_held_write());  // 409: A's term-2 fence changed app-1 after B read it
    CHECK(mode.routed(pods) == Names{"app-0"});
  }
}

TEST_CASE("pod modes: a new election term of the same replica writes its fences again under the new term") {
  for (const auto& mode : kPodModes) {
    const std::string mode_name = mode.name;
    CAPTURE(mode_name);
    Versions versions;
    MemoryPods pods(versions);
    pods.add("app-0", {{"app", "demo"}});
    pods.add("app-1", {{"app", "demo"}});
    auto a = mode.make(pods, "app-0");
    a->lead();
    a->step();
    const std::string term_1 = *a->controller->term();
    const int writes = pods.writes;
    // Term 1 ends and term 2 begins while the stray check's list is in flight: the controller cannot
    // know whether another leader came in between, so nothing fenced in term 1 counts.
    a->clock.advance(2s);
    a->lead();
    pods.during_next_read = [&] { a->lead_new_term(); };
    step_until_routed(*a);
    const std::string term_2 = *a->controller->term();
    CHECK(term_2 != term_1);
    CHECK(pods.writes == writes + 1);  // app-1 fenced again; app-0 still marked
    if (mode_name == "label") {
      CHECK(pods.pods["app-1"].annotations.at(le::traffic::kFencedByAnnotation) == term_2);
    } else {
      CHECK(pods.pods["app-1"].condition(kGate)->message.find(term_2) != std::string::npos);
    }
    CHECK(mode.routed(pods) == Names{"app-0"});
  }
}

TEST_CASE(
    "endpoints: a read that outlasts another leader's whole term - the new term writes the slice again") {
  for (const bool during_read : {true, false}) {
    CAPTURE(during_read);
    Versions versions;
    MemorySlices slices(versions);
    auto a = endpoints_replica(slices, "app-0", "10.0.0.1");
    auto b = endpoints_replica(slices, "app-1", "10.0.0.2");
    const std::string name = le::traffic::slice_name_for("web");
    a->lead();
    a->step();
    REQUIRE(slices.slices[name].addresses == Names{"10.0.0.1"});
    // A's term 1 ends; B leads and its update of the slice, built on the slice as A wrote it in
    // term 1, is stuck in a queue; B's term ends and A leads again in term 2. This happens during
    // A's stray-check read, or while A's routing thread is not scheduled.
    const auto other_leader = [&] {
      a->follow();
      b->lead();
      slices.hold_next_write = true;
      b->step();
      b->follow();
      a->lead_new_term();
    };
    a->clock.advance(2s);
    if (during_read) {
      a->lead();
      slices.during_next_read = other_leader;
    } else {
      other_leader();
    }
    // The read answers the slice as A wrote it in term 1: it is "current" for term 1, so reusing
    // term 1 writes nothing, and B's late update then routes to B while A leads.
    step_until_routed(*a);
    slices.land_held_write();
    CHECK(slices.slices[name].addresses == Names{"10.0.0.1"});
    CHECK(slices.slices[name].target_pod == "app-0");
  }
}

TEST_CASE("endpoints: a follower on the leader's node (hostNetwork, same IP) leaves the leader's endpoint") {
  Versions versions;
  MemorySlices slices(versions);
  // hostNetwork Pods on one node share the node's IP.
  auto a = endpoints_replica(slices, "app-0", "10.0.0.9");
  auto b = endpoints_replica(slices, "app-1", "10.0.0.9");
  const std::string name = le::traffic::slice_name_for("web");
  a->lead();
  a->step();
  REQUIRE(slices.slices[name].target_pod == "app-0");
  const int writes = slices.writes;
  b->follow();
  b->step();  // the address is B's too, but the endpoint is app-0's
  CHECK(b->controller->unrouted());
  CHECK(slices.writes == writes);
  CHECK(slices.slices[name].addresses == Names{"10.0.0.9"});
  CHECK(slices.slices[name].target_pod == "app-0");

  SUBCASE("and removes its own") {
    a->follow();
    a->step();
    CHECK(slices.slices[name].addresses.empty());
    CHECK(slices.slices[name].target_pod.empty());
  }
}

// Shutdown (issue 10, part 5): routing is done by the election's shutdown deadline, so the whole
// process fits the budget the README states. From the signal on, every routing request takes at
// most the stopping timeout (3 s, as the election's), also in the step that was under way when
// it came, and none ends after the deadline.
namespace {

using le::election::BootTime;

struct SentRequest {
  BootTime start;
  milliseconds timeout;
};

// The API server after the signal: the request under way answers only when its timeout is up
// (with the data: this Pod is still routed, so the step goes on to remove it); every later one
// gets no answer at all. SIGTERM arrives while the first request is in flight.
le::testing::RequestHook slow_then_silent(Replica& r, std::vector<SentRequest>& sent, BootTime& deadline) {
  return [&r, &sent, &deadline](milliseconds timeout) -> std::optional<le::traffic::ApiError> {
    sent.push_back({r.clock.boot_now(), timeout});
    const bool first = sent.size() == 1;
    if (first) {
      r.board.mark_stopping(r.clock);  // what the signal handler does first
      deadline = r.clock.boot_now() + 25s;
    }
    r.clock.advance(timeout);
    if (first) return std::nullopt;
    return le::testing::timeout_error();
  };
}

// The traffic loop, once told the deadline: steps, waiting what each step says, until this Pod is
// unrouted or the deadline has passed.
void steps_until(Replica& r, BootTime deadline) {
  while (r.clock.boot_now() < deadline && !r.controller->unrouted()) {
    const auto wait = r.controller->step(deadline);
    r.clock.advance(std::min<std::chrono::nanoseconds>(wait, deadline - r.clock.boot_now()));
  }
}

void check_bounded(const std::vector<SentRequest>& sent, BootTime deadline) {
  REQUIRE(sent.size() > 2);
  CHECK(sent.front().timeout == 5000ms);  // sent before the signal: the request timeout
  for (std::size_t i = 1; i < sent.size(); ++i) {
    CAPTURE(i);
    CHECK(sent[i].timeout <= 3000ms);
    CHECK(sent[i].start + sent[i].timeout <= deadline);
  }
}

}  // namespace

TEST_CASE("shutdown: after the signal every routing request takes at most 3 s and ends by the deadline") {
  for (const auto& mode : kPodModes) {
    const std::string mode_name = mode.name;
    CAPTURE(mode_name);
    Versions versions;
    MemoryPods pods(versions);
    pods.add("app-0", {{"app", "demo"}});
    auto a = mode.make(pods, "app-0");
    a->lead();
    a->step();
    REQUIRE(mode.routed(pods) == Names{"app-0"});
    // Leadership lapses; the controller's step reads this Pod to remove its route, and SIGTERM comes
    // during that read. The removal that follows is a request made after the signal.
    a->follow();
    std::vector<SentRequest> sent;
    BootTime deadline{};
    pods.on_request = slow_then_silent(*a, sent, deadline);
    a->step();
    steps_until(*a, deadline);
    check_bounded(sent, deadline);
  }
  SUBCASE("endpoints") {
    Versions versions;
    MemorySlices slices(versions);
    auto a = endpoints_replica(slices, "app-0", "10.0.0.1");
    a->lead();
    a->step();
    a->follow();
    std::vector<SentRequest> sent;
    BootTime deadline{};
    slices.on_request = slow_then_silent(*a, sent, deadline);
    a->step();
    steps_until(*a, deadline);
    check_bounded(sent, deadline);
  }
}

TEST_CASE("traffic loop: told the shutdown deadline, it has stopped by then - stop() adds nothing") {
  Versions versions;
  MemoryPods pods(versions);
  pods.add("app-0", {{"app", "demo"}, {kLabel, "true"}});  // this Pod's route, to remove
  FakeClock clock;
  SnapshotBoard board;
  auto route = le::traffic::make_label_mode(pods, {"app-0", "app=demo"}, kLabel, "true");
  TrafficControllerConfig config;
  config.identity = "app-0";
  config.request_timeout = 5000ms;
  // No backoff: the fake clock moves only while a request is in flight, so the loop never waits.
  config.min_backoff = 0ns;
  TrafficController controller(*route, board, clock, config);
  board.mark_stopping(clock);
  const BootTime deadline = clock.boot_now() + 25s;
  // The API server never answers. Only the routing thread touches the clock from start() to stop().
  std::vector<SentRequest> sent;
  pods.on_request = [&](milliseconds timeout) -> std::optional<le::traffic::ApiError> {
    sent.push_back({clock.boot_now(), timeout});
    clock.advance(timeout);
    return le::testing::timeout_error();
  };
  le::traffic::TrafficLoop loop(controller, clock);
  loop.request_stop(deadline);
  loop.start();
  loop.stop();
  CHECK(clock.boot_now() == deadline);
  CHECK_FALSE(controller.unrouted());
  REQUIRE(sent.size() >= 9);  // 25 s of 3 s requests
  for (const auto& request : sent) {
    CHECK(request.timeout <= 3000ms);
    CHECK(request.start + request.timeout <= deadline);
  }
}
