#pragma once
// The open-file limit. Every HTTP connection (a long poll or an event stream held open for
// minutes) is a descriptor, and container runtimes commonly start a process with a soft limit of
// 1024 under a much higher hard one.
#include <cstdint>
#include <string>

namespace le::util {

struct FileLimit {
  std::uint64_t soft = 0;  // in effect now (after raising)
  std::uint64_t hard = 0;
  std::string error;  // why it could not be read or raised; "" if it was
};

// Raises the soft RLIMIT_NOFILE to the hard limit (what an unprivileged process may do), and says
// where it stands.
FileLimit raise_open_file_limit();

}  // namespace le::util
