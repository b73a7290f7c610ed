#pragma once
// What the benchmark's sections (bench.cpp, proxy_bench.cpp) share: percentiles and number
// formatting, wrk, and a process's resident memory and CPU time from /proc.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace le::bench {

double ms(std::chrono::nanoseconds d);
double percentile(std::vector<double> values, double p);
std::string fixed(double value, int digits = 1);

// run_command does not search PATH.
std::string find_in_path(const std::string& program);

// One wrk run: `wrk --latency -tT -cC -dD URL`, keep-alive.
struct WrkLoad {
  int threads = 2;
  int connections = 50;
  std::chrono::seconds duration{10};
};

struct WrkResult {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long non_2xx = 0;        // answers other than 2xx and 3xx ("Non-2xx or 3xx responses")
  long socket_errors = 0;  // connect, read, write and timeout errors, summed
  std::string output;
};
WrkResult run_wrk(const std::string& url, const WrkLoad& load = {});

// Resident set and CPU time of a process, from /proc.
struct Usage {
  double rss_mib = 0;
  double cpu_seconds = 0;
};
Usage usage_of(pid_t pid);

}  // namespace le::bench
