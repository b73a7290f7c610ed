#include "run/child_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace le::run {
namespace {

// Everything the child needs is built before fork(): after it, in a process with threads, only
// async-signal-safe calls are allowed until exec.
struct ExecImage {
  std::string path;  // argv[0] found on PATH here: execvpe may allocate, execve does not
  std::vector<std::string> argv_text;
  std::vector<std::string> env_text;
  std::vector<char*> argv;
  std::vector<char*> env;
};

ExecImage build_image(const std::vector<std::string>& argv,
                      const std::vector<std::pair<std::string, std::string>>& extra_env) {
  ExecImage image;
  image.argv_text = argv;
  image.path = argv.front();
  if (image.path.find('/') == std::string::npos) {
    const char* search = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): nobody sets it
    std::string_view dirs = search != nullptr ? search : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
      const auto colon = dirs.find(':');
      const std::string dir(dirs.substr(0, colon));
      dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + argv.front();
      if (access(candidate.c_str(), X_OK) == 0) {
        image.path = candidate;
        break;
      }
    }
  }
  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const auto equals = text.find('=');
    if (equals == std::string::npos) continue;
    merged[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : extra_env) merged[name] = value;
  for (const auto& [name, value] : merged) {
    std::string entry = name;
    entry += '=';
    entry += value;
    image.env_text.push_back(std::move(entry));
  }
  for (auto& text : image.argv_text) image.argv.push_back(text.data());
  image.argv.push_back(nullptr);
  for (auto& text : image.env_text) image.env.push_back(text.data());
  image.env.push_back(nullptr);
  return image;
}

[[noreturn]] void exec_in_child(const ExecImage& image, pid_t parent, int report_fd, int max_fd) {
  // Die with the thread that forked us; if it is gone already, the signal will never come.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  setpgid(0, 0);
  // Every signal is blocked (spawn_child blocked them before fork): default dispositions first,
  // so none of the sidecar's handlers can run here, then nothing blocked. exec resets handled
  // signals itself, but not ignored ones (SIGPIPE, for one).
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) sigaction(signal, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // None of the sidecar's descriptors (its listeners, the API connections, the watch) reach the
  // command: Asio and libcurl open sockets without close-on-exec. The report pipe is close-on-exec
  // already. close_range needs Linux 5.11; before it, one fcntl per descriptor.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  execve(image.path.c_str(), image.argv.data(), image.env.data());
  const int error = errno;
  (void)!write(report_fd, &error, sizeof error);
  _exit(127);
}

}  // namespace

SpawnResult spawn_child(const std::vector<std::string>& argv,
                        const std::vector<std::pair<std::string, std::string>>& extra_env) {
  SpawnResult result;
  if (argv.empty()) {
    result.error = "no command";
    return result;
  }
  const ExecImage image = build_image(argv, extra_env);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const pid_t parent = getpid();
  rlimit files{};
  const int max_fd = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 1'048'576
                         ? static_cast<int>(files.rlim_cur)
                         : 1'048'576;
  // No signal handler of the sidecar may run in the child between fork and exec: blocked here,
  // reset to their defaults there, as posix_spawn does.
  sigset_t all;
  sigset_t before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  const pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    exec_in_child(image, parent, report[1], max_fd);
  }
  const int fork_error = errno;
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(fork_error);
    close(report[0]);
    close(report[1]);
    return result;
  }
  close(report[1]);
  setpgid(pid, pid);  // as the child does: whichever runs first, the group exists before a signal
  int exec_error = 0;
  ssize_t got = 0;
  do {
    got = read(report[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.error = "cannot run " + argv[0] + ": " + std::strerror(exec_error);
    return result;
  }
  SpawnedChild child;
  child.pid = pid;
  // The system call itself: glibc 2.36's <sys/pidfd.h> lacks extern "C", and older ones lack it.
  child.exit_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  result.child = child;
  return result;
}

bool signal_child(pid_t pid, int signal) {
  if (kill(-pid, signal) == 0) return true;
  // The group may be gone while the leader is a zombie not yet reaped: the process itself, then.
  return kill(pid, signal) == 0;
}

bool group_alive(pid_t pgid) { return kill(-pgid, 0) == 0 || errno == EPERM; }

void become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

std::vector<Reaped> reap_exited() {
  std::vector<Reaped> reaped;
  for (;;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    reaped.push_back({pid, status});
  }
  return reaped;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return "killed by " +
           (name != nullptr ? std::string("SIG") + name : "signal " + std::to_string(WTERMSIG(status)));
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace le::run
