#include "leadership_terms.h"

#include <time.h>

#include <map>
#include <regex>
#include <string>

namespace le::testing {

std::vector<LoggedTerm> parse_leadership_terms(std::string_view log_text, std::size_t replica) {
  // The line's fixed key and fields, whatever the log format around them (as test/chaos reads them).
  static const std::regex line_pattern(
      R"(leadership-term \w+ start_boot_ns=(\d+) valid_until_boot_ns=(\d+))");
  std::map<std::int64_t, std::int64_t> ends;  // start -> the last end logged
  std::size_t at = 0;
  for (std::size_t newline; (newline = log_text.find('\n', at)) != std::string_view::npos; at = newline + 1) {
    const std::string line(log_text.substr(at, newline - at));
    std::smatch match;
    if (std::regex_search(line, match, line_pattern)) ends[std::stoll(match[1])] = std::stoll(match[2]);
  }
  std::vector<LoggedTerm> terms;
  for (const auto& [start, end] : ends) terms.push_back({replica, start, end});
  return terms;
}

std::optional<LoggedTerm> first_term_after(const std::vector<LoggedTerm>& terms, std::int64_t since_ns,
                                           std::size_t except) {
  std::optional<LoggedTerm> first;
  for (const auto& t : terms) {
    if (t.replica == except || t.start_boot_ns < since_ns) continue;
    if (!first || t.start_boot_ns < first->start_boot_ns) first = t;
  }
  return first;
}

std::optional<std::int64_t> last_end(const std::vector<LoggedTerm>& terms, std::size_t replica) {
  std::optional<std::int64_t> end;
  for (const auto& t : terms) {
    if (t.replica == replica && (!end || t.end_boot_ns > *end)) end = t.end_boot_ns;
  }
  return end;
}

std::int64_t boot_now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace le::testing
