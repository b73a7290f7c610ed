#include "run/install.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace le::run {
namespace {

std::string failure(const std::string& what) { return what + ": " + std::strerror(errno); }

// Closes a descriptor when the copy returns, whichever way.
struct Descriptor {
  explicit Descriptor(int descriptor) : fd(descriptor) {}
  int fd;
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

std::optional<std::string> install_self(const std::string& path) {
  const Descriptor source{open("/proc/self/exe", O_RDONLY | O_CLOEXEC)};
  if (source.fd < 0) return failure("cannot read this binary (/proc/self/exe)");
  struct stat existing {};
  if (stat(path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) {
    errno = EISDIR;
    return failure("cannot install to " + path);
  }
  // A fresh file of our own, never through whatever (a link) may lie at the temporary name.
  const std::string temporary = path + ".tmp-" + std::to_string(getpid());
  unlink(temporary.c_str());
  const Descriptor target{
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755)};
  if (target.fd < 0) return failure("cannot create " + temporary);
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    const ssize_t got = read(source.fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      std::remove(temporary.c_str());
      return failure("cannot read this binary");
    }
    if (got == 0) break;
    for (ssize_t written = 0; written < got;) {
      const ssize_t n = write(target.fd, buffer.data() + written, static_cast<std::size_t>(got - written));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const std::string error = failure("cannot write " + temporary);
        std::remove(temporary.c_str());
        return error;
      }
      written += n;
    }
  }
  // The umask may have taken bits away at open: the app's user, whoever it is, must run it.
  if (fchmod(target.fd, 0755) != 0 || fsync(target.fd) != 0) {
    const std::string error = failure("cannot finish " + temporary);
    std::remove(temporary.c_str());
    return error;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string error = failure("cannot rename " + temporary + " to " + path);
    std::remove(temporary.c_str());
    return error;
  }
  return std::nullopt;
}

}  // namespace le::run
