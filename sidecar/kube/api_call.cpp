#include "kube/api_call.h"

#include <spdlog/spdlog.h>

#include "kube/api_status.h"

namespace le::kube {

using util::ApiError;
using util::ApiErrorKind;

util::Result<HttpResponse> api_call(HttpTransport& transport, std::string_view method,
                                    const std::string& path, std::string_view body,
                                    std::string_view content_type, std::chrono::milliseconds timeout,
                                    const std::string& what) {
  try {
    auto answer =
        transport.request(method, path, body, body.empty() ? std::string_view{} : content_type, timeout);
    if (auto* failure = std::get_if<TransportError>(&answer)) {
      const auto kind =
          failure->kind == TransportErrorKind::timeout ? ApiErrorKind::timeout : ApiErrorKind::network;
      return ApiError{kind, 0, failure->message, std::nullopt};
    }
    auto& response = std::get<HttpResponse>(answer);
    spdlog::debug("{}: HTTP {}", what, response.status);
    if (response.status < 200 || response.status > 299) {
      std::optional<std::string_view> retry_after;
      if (response.retry_after) retry_after = *response.retry_after;
      return parse_status_error(response.status, response.body, retry_after);
    }
    return std::move(response);
  } catch (const std::exception& e) {
    return ApiError{ApiErrorKind::other, 0, what + ": " + e.what(), std::nullopt};
  }
}

ApiError malformed(const std::string& what, int http_status, const std::string& why) {
  return ApiError{ApiErrorKind::malformed_response, http_status, what + ": unreadable answer: " + why,
                  std::nullopt};
}

std::string query_escape(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace le::kube
