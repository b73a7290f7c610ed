// Run mode's system calls: the command found on PATH and given the term's environment, an exec
// that fails reported as such, signals to the child's process group, wait statuses in words.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "run/child_process.h"

using le::run::describe_wait_status;
using le::run::reap_exited;
using le::run::signal_child;
using le::run::spawn_child;

namespace {

// Reaps `pid` (waiting up to 10 s); its wait status.
std::optional<int> wait_for(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    for (const auto& reaped : reap_exited()) {
      if (reaped.pid == pid) return reaped.status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return std::nullopt;
}

std::string temp_path(const std::string& name) {
  return "/tmp/lease-elector-test-" + std::to_string(getpid()) + "-" + name;
}

}  // namespace

TEST_CASE("the command is found on PATH and gets the extra environment") {
  const std::string out = temp_path("env");
  const auto spawned =
      spawn_child({"sh", "-c", "echo \"$LEASE_ELECTOR_FENCING_TOKEN $HOME\" > " + out},
                  {{"LEASE_ELECTOR_FENCING_TOKEN", "12345678901234567890123"}, {"HOME", "/nowhere"}});
  REQUIRE(spawned.child);
  const auto status = wait_for(spawned.child->pid);
  REQUIRE(status);
  CHECK(describe_wait_status(*status) == "exited with status 0");
  std::string line;
  std::getline(std::ifstream(out), line);
  CHECK(line == "12345678901234567890123 /nowhere");  // added, and overriding
  std::remove(out.c_str());
}

TEST_CASE("a command that cannot be executed is an error at once, not an exit status later") {
  const auto missing = spawn_child({"/nonexistent/worker"}, {});
  CHECK_FALSE(missing.child);
  CHECK(missing.error == "cannot run /nonexistent/worker: No such file or directory");
  const auto not_on_path = spawn_child({"no-such-command-anywhere"}, {});
  CHECK_FALSE(not_on_path.child);
  CHECK(not_on_path.error.find("cannot run no-such-command-anywhere") == 0);
}

TEST_CASE("signals reach the command's process group, and exits are described") {
  const auto spawned = spawn_child({"sleep", "30"}, {});
  REQUIRE(spawned.child);
  CHECK(getpgid(spawned.child->pid) == spawned.child->pid);  // a group of its own
  CHECK(signal_child(spawned.child->pid, SIGTERM));
  const auto status = wait_for(spawned.child->pid);
  REQUIRE(status);
  CHECK(describe_wait_status(*status) == "killed by SIGTERM");
  if (spawned.child->exit_fd >= 0) close(spawned.child->exit_fd);

  const auto failing = spawn_child({"sh", "-c", "exit 3"}, {});
  REQUIRE(failing.child);
  const auto failed = wait_for(failing.child->pid);
  REQUIRE(failed);
  CHECK(describe_wait_status(*failed) == "exited with status 3");
  if (failing.child->exit_fd >= 0) close(failing.child->exit_fd);
}

TEST_CASE("a command whose sidecar thread is gone is killed by the kernel (PR_SET_PDEATHSIG)") {
  // The thread that forks is the child's parent for PR_SET_PDEATHSIG: when it ends, SIGKILL.
  pid_t pid = -1;
  int exit_fd = -1;
  std::thread([&] {
    const auto spawned = spawn_child({"sleep", "30"}, {});
    REQUIRE(spawned.child);
    pid = spawned.child->pid;
    exit_fd = spawned.child->exit_fd;
  }).join();
  REQUIRE(pid > 0);
  const auto status = wait_for(pid);
  REQUIRE(status);
  CHECK(describe_wait_status(*status) == "killed by SIGKILL");
  if (exit_fd >= 0) close(exit_fd);
}
