#include "util/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace le::util {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> to_number(std::string_view field) {
  double value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc{} || end != field.data() + field.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<ProcStat> parse_proc_self_stat(std::string_view text) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from after its last ')'. Field 3 (state) is the first one there.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  // fields[0] is field 3; field N is fields[N - 3].
  const auto field = [&](std::size_t n) -> std::optional<double> {
    if (n - 3 >= fields.size()) return std::nullopt;
    return to_number(fields[n - 3]);
  };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<double> parse_boot_time(std::string_view proc_stat_text) {
  std::size_t position = 0;
  while (position < proc_stat_text.size()) {
    auto end = proc_stat_text.find('\n', position);
    if (end == std::string_view::npos) end = proc_stat_text.size();
    const auto line = proc_stat_text.substr(position, end - position);
    if (line.substr(0, 6) == "btime ") return to_number(line.substr(6));
    position = end + 1;
  }
  return std::nullopt;
}

ProcessStats read_process_stats() {
  ProcessStats stats;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  if (const auto text = read_file("/proc/self/stat"); text && ticks > 0 && page > 0) {
    if (const auto stat = parse_proc_self_stat(*text)) {
      stats.cpu_seconds = (stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks);
      stats.resident_bytes = stat->rss_pages * static_cast<double>(page);
      stats.virtual_bytes = stat->vsize_bytes;
      if (const auto boot = read_file("/proc/stat")) {
        if (const auto btime = parse_boot_time(*boot))
          stats.start_time_seconds = *btime + stat->start_ticks / static_cast<double>(ticks);
      }
    }
  }
  std::error_code error;
  std::size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error))
    ++fds;
  // The directory's own descriptor, open while it is listed, is not one of the process's.
  if (!error && fds > 0) stats.open_fds = static_cast<double>(fds - 1);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    stats.max_fds = static_cast<double>(limit.rlim_cur);
  return stats;
}

}  // namespace le::util
