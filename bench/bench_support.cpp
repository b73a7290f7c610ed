#include "bench_support.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "process.h"

namespace le::bench {

using namespace std::chrono;
namespace fs = std::filesystem;

double ms(nanoseconds d) { return duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * (values.size() - 1);
  const auto low = static_cast<std::size_t>(rank);
  const auto high = std::min(low + 1, values.size() - 1);
  return values[low] + (values[high] - values[low]) * (rank - low);
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  throw std::runtime_error(program + " is not installed (bench/run installs it)");
}

namespace {

double to_ms(double value, const std::string& unit) {
  if (unit == "us") return value / 1000.0;
  if (unit == "s") return value * 1000.0;
  return value;
}

// A percentile of wrk's "Latency Distribution" (--latency), in ms.
double wrk_percentile(const std::string& output, const std::string& which) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex("\\s" + which + "%\\s+([0-9.]+)(us|ms|s)"))) return 0;
  return to_ms(std::stod(match[1]), match[2]);
}

}  // namespace

WrkResult run_wrk(const std::string& url, const WrkLoad& load) {
  const auto result = le::testing::run_command(
      {find_in_path("wrk"), "--latency", "-t" + std::to_string(load.threads),
       "-c" + std::to_string(load.connections), "-d" + std::to_string(load.duration.count()) + "s", url},
      load.duration + seconds{60});
  if (result.status != 0) throw std::runtime_error("wrk failed: " + result.output);
  WrkResult parsed;
  parsed.output = result.output;
  std::smatch match;
  if (std::regex_search(result.output, match, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    parsed.requests_per_second = std::stod(match[1]);
  }
  parsed.p50_ms = wrk_percentile(result.output, "50");
  parsed.p99_ms = wrk_percentile(result.output, "99");
  if (std::regex_search(result.output, match, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))) {
    parsed.non_2xx = std::stol(match[1]);
  }
  if (std::regex_search(
          result.output, match,
          std::regex(
              R"(Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+))"))) {
    for (int i = 1; i <= 4; ++i) parsed.socket_errors += std::stol(match[i]);
  }
  return parsed;
}

Usage usage_of(pid_t pid) {
  Usage usage;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) usage.rss_mib = std::stod(line.substr(6)) / 1024.0;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> values{std::istream_iterator<std::string>(fields), {}};
  if (values.size() > 13) {
    const double ticks = std::stod(values[11]) + std::stod(values[12]);  // utime, stime
    usage.cpu_seconds = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return usage;
}

}  // namespace le::bench
