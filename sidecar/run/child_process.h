#pragma once
// Starting, signalling and reaping run mode's child: the system calls, and nothing of when.
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace le::run {

struct SpawnedChild {
  pid_t pid = -1;
  // Readable once the child has exited (pidfd_open); -1 where the kernel has no pidfds, and then
  // the caller looks again at short intervals.
  int exit_fd = -1;
};

struct SpawnResult {
  std::optional<SpawnedChild> child;
  std::string error;  // when the child could not be started (fork failed, or exec: "no such file")
};

// Forks from the calling thread and executes argv[0] (searched on PATH) with this process's
// environment plus `extra_env` (overriding). The child:
// - gets SIGKILL when the thread that forked it ends (PR_SET_PDEATHSIG), so a sidecar killed with
//   SIGKILL takes its child along; it exits at once if the parent is already gone;
// - leads a process group of its own, so signal_child() reaches what it starts too;
// - starts with default signal dispositions and no blocked signals, whatever this process uses.
// An exec that fails is reported here (through a close-on-exec pipe), not as a mysterious exit.
SpawnResult spawn_child(const std::vector<std::string>& argv,
                        const std::vector<std::pair<std::string, std::string>>& extra_env);

// Sends `signal` to the child's process group. False when the child is gone already.
bool signal_child(pid_t pid, int signal);
// Whether any process is left in the process group `pgid` (a zombie counts until it is reaped).
bool group_alive(pid_t pgid);
// Orphans among the child's descendants become this process's children (PR_SET_CHILD_SUBREAPER),
// so they are reaped here and the process group empties once they are gone.
void become_subreaper();

// A reaped process: its pid and its wait status.
struct Reaped {
  pid_t pid = -1;
  int status = 0;
};
// Reaps every child that has exited, ours or (as PID 1 of a container) an orphan handed to us.
std::vector<Reaped> reap_exited();

// "exited with status 3", "killed by SIGKILL".
std::string describe_wait_status(int status);

}  // namespace le::run
