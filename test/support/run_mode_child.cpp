// The command of the run-mode integration tests: leader-only work that leaves evidence. Usage:
//   run-mode-child DIR
// It logs to DIR/child-<identity>-<pid>.log, on CLOCK_BOOTTIME (one clock for every process on the
// machine): "start <ns> <fencing token>", then "beat <ns>" every 5 ms, "term <ns>" on SIGTERM and
// "end <ns>" when it exits by itself. Every beat is also a write to a fenced store, DIR/store: under
// flock, a write is accepted only if its token is at least the highest accepted so far (compared as
// integers of up to 128 bits, as the README says a resource should), and every attempt is appended
// to DIR/store.log as "accept|refuse <token> <identity> <ns>". With DIR/ignore-term present it
// ignores SIGTERM (so the sidecar's SIGKILL after the grace is what ends it).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace {

volatile std::sig_atomic_t terminated = 0;

long long boot_ns() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<long long>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
}

// A decimal of up to 128 bits; nullopt-like 0 with ok=false for anything else.
unsigned __int128 parse_token(const std::string& text, bool& ok) {
  ok = !text.empty() && text.size() <= 39;
  unsigned __int128 value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') ok = false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

void append(const std::string& path, const std::string& line) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

// One write to the fenced store.
void fenced_write(const std::string& dir, const std::string& token, const std::string& identity) {
  const int fd = open((dir + "/store").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  flock(fd, LOCK_EX);
  char buffer[64] = {};
  const ssize_t got = pread(fd, buffer, sizeof buffer - 1, 0);
  std::string highest = got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : "0";
  bool ok_mine = false;
  bool ok_highest = false;
  const auto mine = parse_token(token, ok_mine);
  const auto stored = parse_token(highest, ok_highest);
  const bool accept = ok_mine && (!ok_highest || mine >= stored);
  if (accept) {
    (void)!ftruncate(fd, 0);
    (void)!pwrite(fd, token.data(), token.size(), 0);
  }
  append(dir + "/store.log", std::string(accept ? "accept " : "refuse ") + token + " " + identity + " " +
                                 std::to_string(boot_ns()) + "\n");
  flock(fd, LOCK_UN);
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: run-mode-child DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const char* identity_env = std::getenv("LEASE_ELECTOR_IDENTITY");
  const char* token_env = std::getenv("LEASE_ELECTOR_FENCING_TOKEN");
  const std::string identity = identity_env != nullptr ? identity_env : "?";
  const std::string token = token_env != nullptr ? token_env : "";
  const std::string log = dir + "/child-" + identity + "-" + std::to_string(getpid()) + ".log";
  const bool ignore_term = access((dir + "/ignore-term").c_str(), F_OK) == 0;
  std::signal(
      SIGTERM, ignore_term ? SIG_IGN : [](int) { terminated = 1; });  // NOLINT(cert-err33-c)

  append(log, "start " + std::to_string(boot_ns()) + " " + token + "\n");
  for (;;) {
    if (terminated != 0) {
      append(log, "term " + std::to_string(boot_ns()) + "\n");
      append(log, "end " + std::to_string(boot_ns()) + "\n");
      return 0;
    }
    append(log, "beat " + std::to_string(boot_ns()) + "\n");
    fenced_write(dir, token, identity);
    timespec pause{0, 5'000'000};
    nanosleep(&pause, nullptr);
  }
}
