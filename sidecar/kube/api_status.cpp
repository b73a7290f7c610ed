#include "kube/api_status.h"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kube/file_util.h"

namespace le::kube {
namespace {

using util::ApiError;
using util::ApiErrorKind;

constexpr std::size_t kExcerptBytes = 200;
// A server asking for more than this is treated as asking for this: the elector's deadlines are
// seconds, and a corrupt header must not park it for days.
constexpr std::chrono::seconds kMaxRetryAfter{3600};

ApiErrorKind kind_for(int status, std::string_view reason) {
  switch (status) {
    case 400:
      return ApiErrorKind::invalid;
    case 401:
      return ApiErrorKind::unauthorized;
    case 403:
      return ApiErrorKind::forbidden;
    case 404:
      return ApiErrorKind::not_found;
    // A 409 is AlreadyExists on a create that lost the race, Conflict on a stale resourceVersion.
    case 409:
      return reason == "AlreadyExists" ? ApiErrorKind::already_exists : ApiErrorKind::conflict;
    case 422:
      return ApiErrorKind::invalid;
    case 429:
      return ApiErrorKind::too_many_requests;
    default:
      return status >= 500 && status <= 599 ? ApiErrorKind::server_error : ApiErrorKind::other;
  }
}

std::string excerpt(std::string_view body) {
  const auto trimmed = trim_space(body);
  std::string text;
  for (char c : trimmed.substr(0, kExcerptBytes)) {
    text.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  }
  if (trimmed.size() > kExcerptBytes) text += "...";
  return text;
}

std::optional<std::chrono::milliseconds> parse_delta_seconds(std::string_view value) {
  if (value.empty() || value.size() > 10) return std::nullopt;
  std::int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::seconds(std::min<std::int64_t>(seconds, kMaxRetryAfter.count()));
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  value = trim_space(value);
  if (auto delta = parse_delta_seconds(value)) return delta;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", fixed width. The length check matters:
  // std::get_time stops without failing at the end of a truncated input.
  if (value.size() != 29 || !value.ends_with(" GMT")) return std::nullopt;
  std::tm tm{};
  std::istringstream in{std::string(value)};
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S GMT");
  if (in.fail()) return std::nullopt;
  in >> std::ws;
  if (!in.eof()) return std::nullopt;
  const std::time_t at = timegm(&tm);
  if (at == static_cast<std::time_t>(-1)) return std::nullopt;
  // Compared in whole seconds first: a date before 1678 or after 2262 (the fuzzer found one) does
  // not fit system_clock's nanoseconds, and from_time_t would overflow.
  const std::int64_t ahead = static_cast<std::int64_t>(at) -
                             std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  if (ahead < 0) return std::chrono::milliseconds::zero();
  if (ahead > kMaxRetryAfter.count()) return std::chrono::milliseconds(kMaxRetryAfter);
  const auto wait = std::chrono::system_clock::from_time_t(at) - now;
  if (wait <= std::chrono::system_clock::duration::zero()) return std::chrono::milliseconds::zero();
  return std::min(std::chrono::duration_cast<std::chrono::milliseconds>(wait),
                  std::chrono::milliseconds(kMaxRetryAfter));
}

util::ApiError parse_status_error(int http_status, std::string_view body,
                                  std::optional<std::string_view> retry_after_header,
                                  std::chrono::system_clock::time_point now) {
  ApiError error;
  error.http_status = http_status;
  std::string reason;
  std::optional<std::chrono::milliseconds> status_retry_after;

  const auto status = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  // value() would throw on a non-string "kind"; a malformed body must still map to its HTTP code.
  const auto kind = status.is_object() ? status.find("kind") : status.end();
  const bool is_status = status.is_object() && kind != status.end() && kind->is_string() && *kind == "Status";
  if (is_status) {
    if (const auto it = status.find("reason"); it != status.end() && it->is_string())
      reason = it->get<std::string>();
    if (const auto it = status.find("message"); it != status.end() && it->is_string()) {
      error.message = it->get<std::string>();
    }
    if (error.message.empty()) error.message = reason;
    if (const auto details = status.find("details"); details != status.end() && details->is_object()) {
      if (const auto seconds = details->find("retryAfterSeconds");
          seconds != details->end() && seconds->is_number_integer() && seconds->get<std::int64_t>() > 0) {
        status_retry_after = std::chrono::seconds(
            std::min<std::int64_t>(seconds->get<std::int64_t>(), kMaxRetryAfter.count()));
      }
    }
  } else {
    error.message = body.empty() ? "empty response body" : excerpt(body);
  }
  error.kind = kind_for(http_status, reason);

  if (error.kind == ApiErrorKind::too_many_requests || error.kind == ApiErrorKind::server_error) {
    if (retry_after_header) error.retry_after = parse_retry_after(*retry_after_header, now);
    if (!error.retry_after) error.retry_after = status_retry_after;
  }
  return error;
}

}  // namespace le::kube
