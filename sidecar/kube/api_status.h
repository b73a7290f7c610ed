#pragma once
// Non-2xx answers of the API server -> util::ApiError. The server answers errors with a
// meta/v1 Status object; the mapping follows k8s.io/apimachinery/pkg/api/errors (IsNotFound,
// IsConflict, IsAlreadyExists, ...), keyed by HTTP code and, for 409, by Status.reason.
#include <chrono>
#include <optional>
#include <string_view>

#include "util/result.h"

namespace le::kube {

// message is Status.message when the body is a Status, else a short, single-line excerpt of the
// body. retry_after comes from the Retry-After header, else Status.details.retryAfterSeconds
// (the API server sets both on 429 and some 5xx), for 429 and 5xx only.
util::ApiError parse_status_error(
    int http_status, std::string_view body, std::optional<std::string_view> retry_after_header,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Retry-After as delta-seconds or an IMF-fixdate HTTP-date (RFC 9110 §10.2.3), relative to now;
// a date in the past is zero. nullopt if unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

}  // namespace le::kube
