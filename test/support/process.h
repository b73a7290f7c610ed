#pragma once
// Child processes for integration tests and the demo: started with posix_spawn, output to a log
// file, signalled, waited for with a deadline, and always killed when the handle goes away.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace le::testing {

class ChildProcess {
 public:
  // env entries are "NAME=value" added to (and overriding) the current environment.
  ChildProcess(std::vector<std::string> argv, std::string log_path, std::vector<std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  bool running();
  void signal(int sig);
  // Waits for the exit; returns the exit status (128+signal when killed), or nullopt on timeout.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // SIGKILL and reap.
  void kill_now();
  std::string log() const;

 private:
  void reap(int status);
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_status_;
};

// Runs a command to completion (bounded), returning its exit status and combined output.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          std::vector<std::string> env = {});

}  // namespace le::testing
