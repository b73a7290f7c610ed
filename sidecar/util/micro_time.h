#pragma once
// Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional digits, the layout
// "2006-01-02T15:04:05.000000Z" that the API server writes for Lease acquireTime and renewTime.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace le::util {

using WallTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

// Truncates to whole microseconds, as the API server stores them, so that a time this program
// sends compares equal to the same time read back.
WallTime to_micro(std::chrono::system_clock::time_point t);

// "2006-01-02T15:04:05.000000Z".
std::string format_micro_time(WallTime t);
// The same, appended to `out`: no allocation of its own (a /leader answer carries three).
void append_micro_time(std::string& out, WallTime t);

// "2006-01-02T15:04:05Z": RFC 3339 in whole seconds (a Pod condition's lastTransitionTime).
std::string format_seconds_time(std::chrono::sys_seconds t);

// Accepts RFC 3339 with 0 to 9 fractional digits and "Z" or a numeric offset, as Go's time
// parser does for MicroTime; digits past the sixth are truncated. nullopt for anything else.
std::optional<WallTime> parse_micro_time(std::string_view text);

}  // namespace le::util
