#include "run/run_supervisor.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "run/child_process.h"

namespace le::run {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Without a pidfd to wait on (kernels before 5.3), a child's exit is looked for this often.
constexpr milliseconds kExitPollWithoutPidfd{20};
// Orphans handed to PID 1 are reaped at least this often (their exit wakes nobody here).
constexpr milliseconds kReapInterval{1000};

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

}  // namespace

struct RunSupervisor::State {
  State(election::SnapshotBoard& b, const election::Clock& c, ChildTiming timing,
        std::vector<std::string> cmd, EndTerm end)
      : board(b),
        clock(c),
        plan(timing),
        grace(timing.grace),
        command(std::move(cmd)),
        end_term(std::move(end)) {
    if (wake_fd < 0 || timer_fd < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "run mode: cannot create the supervisor's eventfd/timerfd");
    }
  }
  ~State() {
    if (wake_fd >= 0) close(wake_fd);
    if (timer_fd >= 0) close(timer_fd);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  election::SnapshotBoard& board;
  const election::Clock& clock;
  ChildPlan plan;  // the supervisor thread's alone
  nanoseconds grace;
  std::vector<std::string> command;
  EndTerm end_term;
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // CLOCK_BOOTTIME, the clock of BootTime (election/clock.h), as the real Clock reads it.
  int timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);

  // The child's process group, from its start until the last process in it is gone (the command
  // may have started others): the supervisor thread's alone.
  std::optional<SpawnedChild> child;
  // The command itself has been reaped with this status, but its process group is not empty yet.
  std::optional<int> leader_status;
  bool logged_lingering = false;
  election::BootTime started_at{};  // when the child was started, for the exit's log line

  std::mutex mutex;  // guards what other threads hand in
  std::vector<std::pair<std::uint64_t, std::function<void()>>> after_term;
  std::vector<std::function<void()>> after_stop;
  bool stop_requested = false;
  std::thread thread;

  void wake() const {
    const std::uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof one);
  }

  void run();
  void loop();
  void start_child(const election::ElectionSnapshot& snapshot);
  void send(Signal signal, const election::ElectionSnapshot& snapshot);
  void reap(const election::ElectionSnapshot& snapshot);
  void child_ended(const election::ElectionSnapshot& snapshot, const std::string& how);
  void run_due_callbacks(const election::ElectionSnapshot& snapshot);
  void wait(std::optional<election::BootTime> wake_at) const;
  void kill_and_reap_left_child();
};

void RunSupervisor::State::run() {
  try {
    loop();
  } catch (const std::exception& error) {
    // Nothing here throws by design; if something does, no command may outlive this thread's
    // care. Ending the thread would kill it too (PR_SET_PDEATHSIG), but say why first.
    spdlog::critical("run: the supervisor failed: {}; killing the command", error.what());
    kill_and_reap_left_child();
    throw;
  }
}

void RunSupervisor::State::loop() {
  become_subreaper();
  for (;;) {
    std::uint64_t drained = 0;
    (void)!read(wake_fd, &drained, sizeof drained);
    {
      const std::lock_guard lock(mutex);
      if (stop_requested) break;
    }
    auto snapshot = board.current();
    reap(*snapshot);
    snapshot = board.current();
    const ChildStep step = plan.next(*snapshot, clock.boot_now(), clock.wall_now());
    if (step.start) {
      start_child(*snapshot);
      continue;
    }
    if (step.send != Signal::none) {
      send(step.send, *snapshot);
      continue;
    }
    run_due_callbacks(*snapshot);
    wait(step.wake_at);
  }
  kill_and_reap_left_child();
}

void RunSupervisor::State::start_child(const election::ElectionSnapshot& decided_on) {
  // A step-down or shutdown may have come since the snapshot the plan decided on: look once more,
  // right before the fork (the window left is what any reader of a snapshot has).
  const auto current = board.current();
  const election::ElectionSnapshot& snapshot = *current;
  const auto boot_now = clock.boot_now();
  const auto wall_now = clock.wall_now();
  if (snapshot.term != decided_on.term || !snapshot.is_leader(boot_now, wall_now)) return;
  const auto valid_for = snapshot.valid_for(boot_now, wall_now).value_or(nanoseconds::zero());
  const std::vector<std::pair<std::string, std::string>> env{
      {"LEASE_ELECTOR_IDENTITY", snapshot.identity},
      {"LEASE_ELECTOR_LEASE", snapshot.lease},
      {"LEASE_ELECTOR_FENCING_TOKEN", snapshot.fencing_token},
      {"LEASE_ELECTOR_VALID_UNTIL_BOOTTIME_NS",
       std::to_string((boot_now + valid_for).time_since_epoch().count())},
  };
  plan.started(snapshot, boot_now, wall_now);
  started_at = boot_now;
  SpawnResult spawned = spawn_child(command, env);
  if (!spawned.child) {
    spdlog::error("run: {}", spawned.error);
    child_ended(snapshot, "could not start");
    return;
  }
  child = *spawned.child;
  spdlog::info("run: started {} (pid {}) for the term with fencing token {}, leading for {}ms unless renewed",
               joined(command), child->pid, snapshot.fencing_token,
               duration_cast<milliseconds>(valid_for).count());
}

void RunSupervisor::State::send(Signal signal, const election::ElectionSnapshot& snapshot) {
  plan.signalled(signal, clock.boot_now());
  if (!child) return;
  const bool same_term = snapshot.record_is_ours && plan.child_term() == snapshot.term;
  const char* why = snapshot.stopping                     ? "shutting down"
                    : same_term && snapshot.stepping_down ? "stepping down"
                    : !same_term                          ? "leadership is over"
                    : signal == Signal::terminate         ? "leadership ends within the grace unless renewed"
                                                          : "the renew deadline has come";
  const int number = signal == Signal::kill ? SIGKILL : SIGTERM;
  if (!signal_child(child->pid, number)) return;  // gone already: its exit is on its way
  if (signal == Signal::kill) {
    spdlog::warn("run: sent SIGKILL to {} (pid {}): {}", command.front(), child->pid, why);
  } else {
    spdlog::info("run: sent SIGTERM to {} (pid {}): {}; SIGKILL follows within {}ms", command.front(),
                 child->pid, why, duration_cast<milliseconds>(grace).count());
  }
}

void RunSupervisor::State::reap(const election::ElectionSnapshot& snapshot) {
  for (const Reaped& reaped : reap_exited()) {
    if (child && reaped.pid == child->pid) {
      if (child->exit_fd >= 0) close(child->exit_fd);
      child->exit_fd = -1;
      leader_status = reaped.status;
    } else {
      spdlog::debug("run: reaped pid {} ({})", reaped.pid, describe_wait_status(reaped.status));
    }
  }
  if (!child || !leader_status) return;
  // The command is gone; what it started may not be. The child counts as running, for the plan
  // (signals, deadlines) and for every release waiting on it, until its process group is empty.
  if (group_alive(child->pid)) {
    if (!logged_lingering) {
      spdlog::warn("run: {} (pid {}) {}, but processes it started are still running; waiting for them",
                   command.front(), child->pid, describe_wait_status(*leader_status));
      logged_lingering = true;
    }
    return;
  }
  const int status = *leader_status;
  child.reset();
  leader_status.reset();
  logged_lingering = false;
  child_ended(snapshot, describe_wait_status(status));
}

void RunSupervisor::State::child_ended(const election::ElectionSnapshot& snapshot, const std::string& how) {
  const auto boot_now = clock.boot_now();
  const auto ran = duration_cast<milliseconds>(boot_now - started_at).count();
  const auto term = plan.child_term();
  switch (plan.exited(snapshot, boot_now, clock.wall_now())) {
    case ExitMeaning::expected:
      spdlog::info("run: {} {} after {}ms", command.front(), how, ran);
      break;
    case ExitMeaning::restart_later:
      spdlog::warn("run: {} {} after {}ms while leading; starting it again after a back-off", command.front(),
                   how, ran);
      break;
    case ExitMeaning::end_term:
      spdlog::warn("run: {} {} after {}ms while leading; stepping down (--run-exit release)", command.front(),
                   how, ran);
      if (term && end_term) end_term(*term);
      break;
  }
}

void RunSupervisor::State::run_due_callbacks(const election::ElectionSnapshot& snapshot) {
  std::vector<std::function<void()>> due;
  {
    const std::lock_guard lock(mutex);
    // Waits on a child of this term or an earlier one (still in its grace); a child of a later
    // term means this one is over anyway.
    const auto running_term = plan.child_term();
    const auto done = std::stable_partition(after_term.begin(), after_term.end(), [&](const auto& entry) {
      return running_term && *running_term <= entry.first;
    });
    for (auto it = done; it != after_term.end(); ++it) due.push_back(std::move(it->second));
    after_term.erase(done, after_term.end());
    if (snapshot.stopping && !running_term) {
      for (auto& then : after_stop) due.push_back(std::move(then));
      after_stop.clear();
    }
  }
  for (auto& then : due) then();
}

void RunSupervisor::State::wait(std::optional<election::BootTime> wake_at) const {
  nanoseconds timeout = kReapInterval;
  // Nothing wakes us when the last process of a group whose leader is gone exits, nor without a pidfd.
  if (child && child->exit_fd < 0) timeout = kExitPollWithoutPidfd;
  // A signal due at a boot-clock instant (the SIGKILL at the renew deadline) is timed on that
  // clock: ppoll's timeout runs on CLOCK_MONOTONIC, which stands still while the machine is
  // suspended, and would fire late after a resume.
  itimerspec due{};
  if (wake_at) {
    const auto since_boot = std::max(wake_at->time_since_epoch(), nanoseconds{1});
    due.it_value = {static_cast<std::time_t>(since_boot.count() / 1'000'000'000),
                    static_cast<long>(since_boot.count() % 1'000'000'000)};
  }
  timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &due, nullptr);  // disarmed without wake_at
  std::array<pollfd, 3> fds{};
  fds[0] = {wake_fd, POLLIN, 0};
  fds[1] = {timer_fd, POLLIN, 0};
  fds[2] = {child ? child->exit_fd : -1, POLLIN, 0};
  const timespec span{static_cast<std::time_t>(timeout.count() / 1'000'000'000),
                      static_cast<long>(timeout.count() % 1'000'000'000)};
  ppoll(fds.data(), fds.size(), &span, nullptr);
}

void RunSupervisor::State::kill_and_reap_left_child() {
  if (!child) return;
  spdlog::warn("run: sent SIGKILL to {} (pid {}): the sidecar is exiting", command.front(), child->pid);
  signal_child(child->pid, SIGKILL);
  if (!leader_status) {
    int status = 0;
    while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // What the command started dies of the same SIGKILL; reap what was handed to us (subreaper).
  for (int i = 0; i < 100 && group_alive(child->pid); ++i) {
    reap_exited();
    std::this_thread::sleep_for(milliseconds{10});
  }
  if (child->exit_fd >= 0) close(child->exit_fd);
  child.reset();
  leader_status.reset();
}

RunSupervisor::RunSupervisor(election::SnapshotBoard& board, const election::Clock& clock, ChildTiming timing,
                             std::vector<std::string> command, EndTerm end_term)
    : state_(std::make_shared<State>(board, clock, timing, std::move(command), std::move(end_term))) {
  // Every new snapshot may start or end the child: look at once. The observer keeps the state (and
  // its descriptor) alive for as long as the board may call it.
  board.add_observer([state = state_](const election::ElectionSnapshot&) { state->wake(); });
}

RunSupervisor::~RunSupervisor() { stop(); }

void RunSupervisor::start() {
  state_->thread = std::thread([state = state_.get()] { state->run(); });
}

void RunSupervisor::after_child_of(std::uint64_t term, std::function<void()> then) {
  {
    const std::lock_guard lock(state_->mutex);
    state_->after_term.emplace_back(term, std::move(then));
  }
  state_->wake();
}

void RunSupervisor::after_stopped(std::function<void()> then) {
  {
    const std::lock_guard lock(state_->mutex);
    state_->after_stop.push_back(std::move(then));
  }
  state_->wake();
}

void RunSupervisor::stop() {
  {
    const std::lock_guard lock(state_->mutex);
    state_->stop_requested = true;
  }
  state_->wake();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace le::run
