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
// time.RFC3339, the layout metav1.Time.UnmarshalJSON parses with.
inline constexpr std::string_view kTimeLayout = "2006-01-02T15:04:05Z07:00";

struct MicroTimeError {
  std::string message;  // Go's *time.ParseError text, e.g. `parsing time "x" as "2006-...": cannot parse ...`
};

// The UTC form the server stores and answers with ("2006-01-02T15:04:05.000000Z"), or Go's error.
std::variant<std::string, MicroTimeError> normalize_micro_time(std::string_view text);

// metav1.Time (Event firstTimestamp/lastTimestamp, ...) read as UnmarshalJSON reads it: time.Parse
// with time.RFC3339, which also takes a fraction of a second ('.' or ',' and any digits) after the
// seconds; written back as MarshalJSON writes it, in UTC and whole seconds ("2026-12-03T22:00:00Z").
// nullopt for Go's zero time ("0001-01-01T00:00:00Z"), which MarshalJSON writes as null.
std::variant<std::optional<std::string>, MicroTimeError> normalize_time(std::string_view text);

// metav1.Time as written in creationTimestamp and managedFields: RFC 3339, whole seconds, UTC.
std::string format_rfc3339_seconds(std::chrono::system_clock::time_point t);

}  // namespace fake
