#pragma once
// Run mode (`lease-elector [flags] -- COMMAND ARGS…`): a thread of its own that starts COMMAND
// when this replica begins to lead, and makes sure it is gone before any other replica can
// (ChildPlan holds the rules). The thread lives as long as the process and forks every child, so
// the child's PR_SET_PDEATHSIG fires only when the sidecar itself dies. It also reaps orphans, as
// PID 1 of a container must.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "election/clock.h"
#include "election/snapshot.h"
#include "run/child_plan.h"

namespace le::run {

class RunSupervisor {
 public:
  // Called on the supervisor's thread when the child exited on its own while leading and
  // ExitPolicy::release asks to end the term: step down from `term`.
  using EndTerm = std::function<void(std::uint64_t term)>;

  // Registers an observer on `board`: construct before the election starts.
  RunSupervisor(election::SnapshotBoard& board, const election::Clock& clock, ChildTiming timing,
                std::vector<std::string> command, EndTerm end_term);
  ~RunSupervisor();
  RunSupervisor(const RunSupervisor&) = delete;
  RunSupervisor& operator=(const RunSupervisor&) = delete;

  void start();
  // Thread-safe. `then` runs on the supervisor's thread once no child of `term` runs: at once if
  // none does, else after it has exited (SIGTERM now, SIGKILL after the grace). The caller
  // withholds the term on the board first (SnapshotBoard::withhold_leadership), so no new child
  // starts for it. The step-down's release waits on this.
  void after_child_of(std::uint64_t term, std::function<void()> then);
  // Thread-safe. `then` runs on the supervisor's thread once the board says stopping and no child
  // runs. The shutdown's release waits on this.
  void after_stopped(std::function<void()> then);
  // Ends the thread: a child still running is killed (SIGKILL) and reaped first. Idempotent.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace le::run
