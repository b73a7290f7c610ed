#pragma once
// Time strings exactly as kube-apiserver 1.20 reads and writes them, written independently of the
// sidecar's util/micro_time so that a mistake in one is caught by the other.
//
// MicroTime.UnmarshalJSON calls Go's time.Parse with the layout "2006-01-02T15:04:05.000000Z07:00".
// Go's parser needs *exactly* six fractional digits for a ".000000" layout element, so the real
// server rejects "2021-03-04T05:06:07Z" and "...07.5Z" with 400; the fake does the same.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace fake {

inline constexpr std::string_view kMicroTimeLayout = "2006-01-02T15:04:05.000000Z07:00";

struct MicroTimeError {
  std::string message;  // Go's *time.ParseError text, e.g. `parsing time "x" as "2006-...": cannot parse ...`
};

// The UTC form the server stores and answers with ("2006-01-02T15:04:05.000000Z"), or Go's error.
std::variant<std::string, MicroTimeError> normalize_micro_time(std::string_view text);

// metav1.Time as written in creationTimestamp and managedFields: RFC 3339, whole seconds, UTC.
std::string format_rfc3339_seconds(std::chrono::system_clock::time_point t);

}  // namespace fake
