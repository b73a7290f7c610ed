// RunSupervisor with real processes and the real clocks, on a board the test publishes to by hand:
// a command that leaves processes behind in its process group (a shell that backgrounds its
// worker and exits, one whose worker ignores SIGTERM) counts as running until the last of them is
// gone. Split brain: a step-down's release (the after_child_of callback) must not come while any
// process the command started still runs, and no second command may start beside them.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "election/clock.h"
#include "election/snapshot.h"
#include "run/run_supervisor.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/lease-elector-test-" + std::to_string(getpid()) + "-" + name;
}

bool gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

std::optional<pid_t> read_pid(const std::string& path) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(path);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

int lines_in(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

struct Leading {
  explicit Leading(const std::string& script, std::chrono::milliseconds grace = 300ms) {
    ElectionSnapshot s;
    s.identity = "pod-a";
    s.lease = "default/job";
    s.record_is_ours = true;
    s.term = 1;
    s.fencing_token = "42";
    s.renew_sent_boot = clock.boot_now();
    s.renew_sent_wall = clock.wall_now();
    s.renew_deadline = 60s;  // no deadline comes due in these tests: only the step-down ends the term
    s.status = "leading";
    board.publish(std::make_shared<const ElectionSnapshot>(s));
    le::run::ChildTiming timing;
    timing.grace = grace;
    supervisor = std::make_unique<le::run::RunSupervisor>(
        board, clock, timing, std::vector<std::string>{"sh", "-c", script}, nullptr);
    supervisor->start();
  }
  ~Leading() { supervisor->stop(); }
  // The step-down as main does it in run mode; returns once its release would be sent.
  bool step_down_and_wait() {
    const auto term = board.withhold_leadership(clock);
    REQUIRE(term);
    supervisor->after_child_of(*term, [this] { released.store(true); });
    for (int i = 0; i < 1000 && !released.load(); ++i) std::this_thread::sleep_for(10ms);
    return released.load();
  }

  le::election::SystemClock clock;
  le::election::SnapshotBoard board;
  std::unique_ptr<le::run::RunSupervisor> supervisor;
  std::atomic<bool> released{false};
};

}  // namespace

TEST_CASE(
    "a command whose worker outlives it counts as running: no second start, no release before the worker is "
    "gone") {
  const std::string pid_file = temp_path("worker-pid");
  const std::string starts = temp_path("starts");
  // The shell backgrounds its worker and exits at once, as a script without `exec` may.
  Leading l("echo start >> " + starts + "; sleep 30 & echo $! > " + pid_file + "; exit 0");
  const auto worker = read_pid(pid_file);
  REQUIRE(worker);
  std::this_thread::sleep_for(1500ms);  // longer than the first restart back-off (1 s)
  CHECK(lines_in(starts) == 1);         // the shell exited "on its own", but its group did not
  CHECK_FALSE(gone(*worker));
  REQUIRE(l.step_down_and_wait());
  CHECK(gone(*worker));  // SIGTERM reached the worker, and the release waited for it
  std::remove(pid_file.c_str());
  std::remove(starts.c_str());
}

TEST_CASE("a worker that ignores SIGTERM after its command exited is killed after the grace, then released") {
  const std::string pid_file = temp_path("worker-pid");
  Leading l("trap '' TERM; sleep 30 & echo $! > " + pid_file + "; exit 0", 300ms);
  const auto worker = read_pid(pid_file);
  REQUIRE(worker);
  const auto asked = std::chrono::steady_clock::now();
  REQUIRE(l.step_down_and_wait());
  CHECK(gone(*worker));
  CHECK(std::chrono::steady_clock::now() - asked >= 300ms);  // SIGTERM was ignored: SIGKILL at the grace
  std::remove(pid_file.c_str());
}

TEST_CASE("with no command running, a step-down's release is not held back") {
  Leading l("exit 0");
  std::this_thread::sleep_for(200ms);
  CHECK(l.step_down_and_wait());
}
