// The /proc parsing behind the process_* metrics, on sample texts, and one real reading.
#include <doctest/doctest.h>

#include "util/process_stats.h"

using le::util::parse_boot_time;
using le::util::parse_proc_self_stat;

TEST_CASE("/proc/self/stat: fields are counted after the last ')' of the command name") {
  // A command name with a space and a ')' of its own, as a process may name itself.
  const char* text =
      "4242 (lease) elector) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 5 0 123456 "
      "20971520 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto stat = parse_proc_self_stat(text);
  REQUIRE(stat);
  CHECK(stat->utime_ticks == 250);
  CHECK(stat->stime_ticks == 75);
  CHECK(stat->start_ticks == 123456);
  CHECK(stat->vsize_bytes == 20971520);
  CHECK(stat->rss_pages == 2048);
}

TEST_CASE("/proc/self/stat: a truncated or garbled text gives nothing, not a wrong number") {
  CHECK_FALSE(parse_proc_self_stat(""));
  CHECK_FALSE(parse_proc_self_stat("4242 (x) S 1 2 3"));
  CHECK_FALSE(
      parse_proc_self_stat("4242 (x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 2x0 75 0 0 20 0 5 0 1 2 3"));
}

TEST_CASE("/proc/stat: the boot time is the btime line") {
  CHECK(parse_boot_time("cpu  1 2 3\nbtime 1780000000\nprocesses 10\n") == doctest::Approx(1780000000));
  CHECK_FALSE(parse_boot_time("cpu  1 2 3\n"));
}

TEST_CASE("read_process_stats reads this process: memory, CPU, start time and descriptors") {
  const auto stats = le::util::read_process_stats();
  REQUIRE(stats.resident_bytes);
  CHECK(*stats.resident_bytes > 0);
  REQUIRE(stats.cpu_seconds);
  CHECK(*stats.cpu_seconds >= 0);
  REQUIRE(stats.start_time_seconds);
  CHECK(*stats.start_time_seconds > 1.5e9);  // after 2017: a real epoch time, not seconds since boot
  REQUIRE(stats.open_fds);
  CHECK(*stats.open_fds >= 1);
}
