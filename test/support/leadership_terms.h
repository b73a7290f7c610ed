#pragma once
// The leadership terms a sidecar writes to its log at debug level (sidecar/election/leadership_log.h):
// each on CLOCK_BOOTTIME, from the send time of the acquiring write to the last successful write's
// send time plus the renew deadline, or to the instant the term ended early. CLOCK_BOOTTIME is one
// clock for every process on the machine, so the terms of all replicas can be laid side by side:
// the chaos suite's checker and the integration tests judge "never two leaders" from them, which,
// unlike asking each /leader in turn, misses no overlap however short.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace le::testing {

struct LoggedTerm {
  std::size_t replica = 0;
  std::int64_t start_boot_ns = 0;
  std::int64_t end_boot_ns = 0;
};

// The terms in one log's text, one per start, ending where the last line about it says (each
// renewal moves the end; a step-down cuts it short). A last line without its newline, which the
// sidecar may still be writing, is left out.
std::vector<LoggedTerm> parse_leadership_terms(std::string_view log_text, std::size_t replica);

// The first term logged by a replica other than `except` that began at or after `since_ns`.
std::optional<LoggedTerm> first_term_after(const std::vector<LoggedTerm>& terms, std::int64_t since_ns,
                                           std::size_t except);
// Where the last term `replica` logged ended.
std::optional<std::int64_t> last_end(const std::vector<LoggedTerm>& terms, std::size_t replica);

// Now on CLOCK_BOOTTIME, in nanoseconds: the clock of the terms.
std::int64_t boot_now_ns();

}  // namespace le::testing
