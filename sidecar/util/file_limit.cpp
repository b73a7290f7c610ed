#include "util/file_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace le::util {

FileLimit raise_open_file_limit() {
  FileLimit result;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    result.error = std::string{"getrlimit(RLIMIT_NOFILE): "} + std::strerror(errno);
    return result;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    } else {
      result.error = std::string{"setrlimit(RLIMIT_NOFILE): "} + std::strerror(errno);
    }
  }
  // RLIM_INFINITY is the largest value of the type: as a count, "more than we will ever open".
  result.soft = limit.rlim_cur;
  result.hard = limit.rlim_max;
  return result;
}

}  // namespace le::util
