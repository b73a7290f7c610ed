#pragma once
// Durations in Go's time.ParseDuration / Duration.String syntax, because the flags this sidecar
// replaces (client-go's leader election options, the classic leader-elector image) are written in
// it and users copy values between them. POST /step-down?holdoff= takes the same syntax.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace le::util {

// A sequence of decimal numbers, each with an optional fraction and a unit among ns, us, µs, ms,
// s, m, h ("300ms", "1.5h", "2h45m"), with an optional leading sign; "0" alone needs no unit.
// nullopt for anything Go rejects, including values outside the int64 nanosecond range.
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

// As Go's Duration.String: 1500ms -> "1.5s", 15s -> "15s", 1m -> "1m0s", 250ms -> "250ms",
// 0 -> "0s". Parsing the result gives the same duration back.
std::string format_go_duration(std::chrono::nanoseconds duration);

}  // namespace le::util
