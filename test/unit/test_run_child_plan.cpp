// Run mode's rules (ChildPlan) against a real Elector on the in-memory Lease: when the leader-only
// child starts, when it gets SIGTERM and SIGKILL, and what its own exit means. Split brain: a
// child must be gone (SIGKILL sent) by its term's renew deadline, before any other replica can take
// the Lease; the randomized run at the end checks that across faults, step-downs and shutdowns.
#include <doctest/doctest.h>

#include <optional>
#include <random>

#include "elector_harness.h"
#include "run/child_plan.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::ApiErrorKind;
using le::run::ChildPlan;
using le::run::ChildStep;
using le::run::ChildTiming;
using le::run::ExitMeaning;
using le::run::ExitPolicy;
using le::run::Signal;
using le::testing::FakeLeaseServer;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::Replica;

namespace {

ChildTiming timing(ExitPolicy on_exit = ExitPolicy::restart) {
  ChildTiming t;
  t.grace = 3s;
  t.on_exit = on_exit;
  return t;
}

// A replica with a ChildPlan, as the supervisor drives it: every step is carried out at once.
struct RunReplica {
  RunReplica(FakeLeaseServer& server, std::string identity, ExitPolicy on_exit = ExitPolicy::restart)
      : replica(server, std::move(identity)), plan(timing(on_exit)) {}
  ChildStep step() {
    return plan.next(*replica.board.current(), replica.clock.boot_now(), replica.clock.wall_now());
  }
  // Carries out whatever falls due now; returns the step with nothing left to do.
  ChildStep settle() {
    for (;;) {
      const ChildStep s = step();
      if (s.start) {
        plan.started(*replica.board.current(), replica.clock.boot_now(), replica.clock.wall_now());
        ++starts;
      } else if (s.send != Signal::none) {
        plan.signalled(s.send, replica.clock.boot_now());
        last_signal = s.send;
        signalled_at = replica.clock.boot_now();
      } else {
        return s;
      }
    }
  }
  ExitMeaning exit() {
    return plan.exited(*replica.board.current(), replica.clock.boot_now(), replica.clock.wall_now());
  }
  Replica replica;
  ChildPlan plan;
  int starts = 0;
  Signal last_signal = Signal::none;
  le::election::BootTime signalled_at{};
};

}  // namespace

TEST_CASE("the child starts when the replica leads, and not while it follows") {
  FakeLeaseServer server;
  server.external_write(held_by("other"));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  CHECK_FALSE(r.settle().start);
  CHECK(r.starts == 0);
  server.external_write(held_by(""));
  r.replica.clock.advance(2s);
  r.replica.elector.tick();
  REQUIRE(r.replica.leads());
  r.settle();
  CHECK(r.starts == 1);
  CHECK(r.plan.child_term() == r.replica.board.current()->term);
}

TEST_CASE(
    "while renewals succeed nothing is sent, and the next look is due at the deadline minus the grace") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  const auto step = r.settle();
  REQUIRE(step.wake_at);
  CHECK(*step.wake_at == r.replica.clock.boot_now() + 10s - 3s);
  for (int i = 0; i < 10; ++i) {
    r.replica.clock.advance(2s);
    r.replica.elector.tick();
    CHECK(r.settle().wake_at == r.replica.clock.boot_now() + 7s);
  }
  CHECK(r.last_signal == Signal::none);
}

TEST_CASE("renewals that fail: SIGTERM the grace before the renew deadline, SIGKILL at it") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  r.settle();
  const auto deadline = r.replica.clock.boot_now() + 10s;
  for (int i = 0; i < 20; ++i) r.replica.store.script({Fault::fail, ApiErrorKind::server_error, "update"});
  // Tick the elector at its retry period and the plan at its wake-ups, whichever comes first.
  while (r.last_signal != Signal::kill) {
    const auto wake = r.settle().wake_at;
    REQUIRE(wake);
    const auto next_tick = r.replica.clock.boot_now() + 2s;
    r.replica.clock.advance(std::min(*wake, next_tick) - r.replica.clock.boot_now());
    if (r.replica.clock.boot_now() == next_tick) r.replica.elector.tick();
    if (r.last_signal == Signal::terminate && r.signalled_at == r.replica.clock.boot_now()) {
      CHECK(r.signalled_at == deadline - 3s);
    }
    r.settle();
  }
  CHECK(r.signalled_at == deadline);
  CHECK(server.record->holder_identity == "a");  // nobody else could have taken it yet
}

TEST_CASE("a step-down: SIGTERM at once, SIGKILL after the grace, while the Lease stays renewed") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  r.settle();
  REQUIRE(r.replica.board.withhold_leadership(r.replica.clock));
  r.settle();
  CHECK(r.last_signal == Signal::terminate);
  const auto sent = r.signalled_at;
  // The elector keeps renewing: the deadline moves on, the grace after SIGTERM does not.
  r.replica.clock.advance(2s);
  r.replica.elector.tick();
  const auto wake = r.settle().wake_at;
  REQUIRE(wake);
  CHECK(*wake == sent + 3s);
  r.replica.clock.advance(*wake - r.replica.clock.boot_now());
  r.settle();
  CHECK(r.last_signal == Signal::kill);
  CHECK(r.exit() == ExitMeaning::expected);
  CHECK_FALSE(r.settle().start);  // never again for the withheld term
}

TEST_CASE("shutdown: SIGTERM at once, and no child starts afterwards") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  r.settle();
  r.replica.board.mark_stopping(r.replica.clock);
  r.settle();
  CHECK(r.last_signal == Signal::terminate);
  CHECK(r.exit() == ExitMeaning::expected);
  r.replica.clock.advance(2s);
  r.replica.elector.tick();
  CHECK_FALSE(r.settle().start);
  CHECK(r.starts == 1);
}

TEST_CASE("a term lost to a conflict: SIGTERM at once, SIGKILL at the renew deadline it last had") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  r.settle();
  const auto deadline = r.replica.clock.boot_now() + 10s;
  server.external_write(held_by("intruder"));
  r.replica.clock.advance(2s);
  r.replica.elector.tick();  // the renewal conflicts
  REQUIRE_FALSE(r.replica.leads());
  const auto wake = r.settle().wake_at;
  CHECK(r.last_signal == Signal::terminate);
  REQUIRE(wake);
  CHECK(*wake == deadline);
}

TEST_CASE("a child that exits on its own while leading is restarted after a growing back-off") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  r.settle();
  nanoseconds expected = 1s;
  for (int i = 0; i < 7; ++i) {
    CHECK(r.exit() == ExitMeaning::restart_later);
    const auto wake = r.settle().wake_at;
    REQUIRE(wake);
    CHECK(*wake == r.replica.clock.boot_now() + expected);
    r.replica.clock.advance(expected);
    r.replica.elector.tick();
    r.settle();
    CHECK(r.plan.child_running());
    expected = std::min<nanoseconds>(expected * 2, 30s);
  }
  // One that ran for a minute starts the back-off again from 1 s.
  for (int i = 0; i < 31; ++i) {
    r.replica.clock.advance(2s);
    r.replica.elector.tick();
  }
  CHECK(r.exit() == ExitMeaning::restart_later);
  CHECK(r.settle().wake_at == r.replica.clock.boot_now() + 1s);
}

TEST_CASE("--run-exit release: an exit while leading ends the term, and no child starts for it again") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a", ExitPolicy::release);
  r.replica.elector.tick();
  r.settle();
  CHECK(r.exit() == ExitMeaning::end_term);
  // Until the step-down withholds the term (main does it on the supervisor's thread), the plan
  // itself refuses to start another child for it.
  r.replica.clock.advance(2s);
  r.replica.elector.tick();
  REQUIRE(r.replica.leads());
  CHECK_FALSE(r.settle().start);
}

TEST_CASE("a child that exits after SIGTERM is expected, and a renewed term starts another") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  RunReplica r(server, "a");
  r.replica.elector.tick();
  r.settle();
  for (int i = 0; i < 4; ++i) r.replica.store.script({Fault::fail, ApiErrorKind::server_error, "update"});
  for (int i = 0; i < 4; ++i) {
    r.replica.clock.advance(2s);
    r.replica.elector.tick();  // fails
  }
  r.replica.clock.advance(500ms);
  r.settle();
  REQUIRE(r.last_signal == Signal::terminate);  // 8.5 s after the last renewal, 3 s of grace
  CHECK(r.exit() == ExitMeaning::expected);
  r.replica.clock.advance(1500ms);
  r.replica.elector.tick();  // the API server answers again: the same term, renewed
  REQUIRE(r.replica.leads());
  r.settle();
  CHECK(r.starts == 2);
}

TEST_CASE("randomized: a child is always killed by its renew deadline, before another replica can lead") {
  // Three replicas on one Lease; API faults, pauses of a replica (SIGSTOP of the sidecar and its
  // child together: both clocks run on; or a paused VM: the boot clock stands still, the wall
  // clock jumps), step-downs, and shutdowns followed by a restart, at random. A child whose
  // SIGKILL is not yet sent counts as running; one that got SIGTERM exits after a random delay.
  // At every step, for every replica that runs:
  // - a running child's term has not passed its renew deadline, as the replica's own snapshots
  //   gave it (send time of the last successful write + renew deadline, on both clocks);
  // - while a replica's child runs, no other replica leads.
  int children = 0;
  int handovers = 0;
  int restarts = 0;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uniform(0, 1);
    FakeLeaseServer server;
    server.external_write(held_by(""));
    constexpr std::size_t kReplicas = 3;
    std::vector<std::unique_ptr<RunReplica>> replicas;
    for (std::size_t i = 0; i < kReplicas; ++i)
      replicas.push_back(std::make_unique<RunReplica>(server, "r" + std::to_string(i)));
    struct Sim {
      nanoseconds paused_until{0};
      bool vm_pause = false;  // else SIGSTOP
      bool stopping = false;
      std::optional<le::election::BootTime> exits_at;
      std::optional<std::uint64_t> step_down;
      // The oracle: the renew deadline of the running child's term, from the snapshots.
      std::optional<std::pair<le::election::BootTime, le::election::WallClockTime>> deadline;
    };
    std::vector<Sim> sims(kReplicas);
    nanoseconds now = 0ns;
    std::size_t last_runner = kReplicas;
    for (int step = 0; step < 1500; ++step) {
      const nanoseconds dt = milliseconds{1 + int(uniform(rng) * 1500)};
      now += dt;
      for (std::size_t i = 0; i < kReplicas; ++i) {
        Sim& sim = sims[i];
        if (now < sim.paused_until) {
          // Nothing of the replica runs; a paused VM's boot clock stands still too.
          if (sim.vm_pause) {
            replicas[i]->replica.clock.step_wall(dt);
          } else {
            replicas[i]->replica.clock.advance(dt);
          }
          continue;
        }
        replicas[i]->replica.clock.advance(dt);
        auto& r = *replicas[i];
        const double roll = uniform(rng);
        if (roll < 0.10) {
          r.replica.store.script({Fault::fail, ApiErrorKind::server_error, "update"});
        } else if (roll < 0.13) {
          sim.paused_until = now + milliseconds{int(uniform(rng) * 20'000)};
          sim.vm_pause = uniform(rng) < 0.5;
        } else if (roll < 0.16) {
          // A step-down as main does it in run mode: withheld now, handed to the elector (released
          // at once) only once the child of that term is gone.
          if (const auto term = r.replica.board.withhold_leadership(r.replica.clock)) sim.step_down = *term;
        } else if (roll < 0.163 && !sim.stopping) {
          r.replica.board.mark_stopping(r.replica.clock);  // SIGTERM
          sim.stopping = true;
        }
        if (sim.step_down && r.plan.child_term() != sim.step_down) {
          r.replica.elector.step_down(*sim.step_down, 0s, milliseconds{int(uniform(rng) * 10'000)});
          sim.step_down.reset();
        }
        r.replica.elector.tick();
        r.settle();
        if (r.last_signal == Signal::terminate && r.plan.child_running() && !sim.exits_at) {
          sim.exits_at = r.replica.clock.boot_now() + milliseconds{int(uniform(rng) * 5000)};
        }
        if ((r.last_signal == Signal::kill && r.plan.child_running()) ||
            (sim.exits_at && r.replica.clock.boot_now() >= *sim.exits_at && r.plan.child_running())) {
          r.exit();
          sim.exits_at.reset();
          sim.deadline.reset();
          r.last_signal = Signal::none;
          r.settle();
        }
        if (sim.stopping && !r.plan.child_running()) {
          // The shutdown's release comes once the child is gone; then the sidecar restarts.
          r.replica.elector.begin_stopping(r.replica.clock.boot_now() + 25s);
          r.replica.elector.release();
          children += r.starts;
          replicas[i] = std::make_unique<RunReplica>(server, "r" + std::to_string(i));
          replicas[i]->replica.clock.advance(now);
          sims[i] = Sim{};
          ++restarts;
          continue;
        }
        const auto snapshot = r.replica.board.current();
        if (r.plan.child_running() && snapshot->record_is_ours && snapshot->term == r.plan.child_term() &&
            snapshot->renew_sent_boot && snapshot->renew_sent_wall) {
          sim.deadline = {*snapshot->renew_sent_boot + snapshot->renew_deadline,
                          *snapshot->renew_sent_wall + snapshot->renew_deadline};
        }
      }
      for (std::size_t i = 0; i < kReplicas; ++i) {
        // A stopped child cannot act (a fenced store covers what it does once resumed: the
        // integration test); its sidecar, resumed with it, kills it at its first look.
        if (now < sims[i].paused_until) continue;
        const auto& r = *replicas[i];
        if (!r.plan.child_running() || r.last_signal == Signal::kill) continue;
        REQUIRE(sims[i].deadline);
        CHECK(r.replica.clock.boot_now() < sims[i].deadline->first);
        CHECK(r.replica.clock.wall_now() < sims[i].deadline->second);
        for (std::size_t j = 0; j < kReplicas; ++j) {
          if (j != i) REQUIRE_FALSE(replicas[j]->replica.leads());
        }
        if (i != last_runner) ++handovers;
        last_runner = i;
      }
    }
    for (const auto& r : replicas) children += r->starts;
  }
  // The run must have moved the child between replicas often, or it proves nothing.
  MESSAGE(children << " children started, " << handovers << " moves of the child between replicas, "
                   << restarts << " shutdowns and restarts");
  CHECK(handovers > 1000);
  CHECK(restarts > 100);
}
