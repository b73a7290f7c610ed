#pragma once
// The process's own figures for the standard process_* metrics (what client_golang's process
// collector exports), read from /proc on Linux. Absent figures stay nullopt: a scrape then leaves
// those series out rather than fail.
#include <optional>
#include <string_view>

namespace le::util {

struct ProcessStats {
  std::optional<double> cpu_seconds;  // user + system
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> start_time_seconds;  // since the Unix epoch
  std::optional<double> open_fds;
  std::optional<double> max_fds;
};

ProcessStats read_process_stats();

// The parts of /proc that read_process_stats reads, parsed from their text (tested on samples):
// /proc/self/stat and the btime line of /proc/stat.
struct ProcStat {
  double utime_ticks = 0;
  double stime_ticks = 0;
  double start_ticks = 0;  // since boot
  double vsize_bytes = 0;
  double rss_pages = 0;
};
std::optional<ProcStat> parse_proc_self_stat(std::string_view text);
std::optional<double> parse_boot_time(std::string_view proc_stat_text);

}  // namespace le::util
