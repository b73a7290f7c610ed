#include "util/result.h"

namespace le::util {

const char* to_string(ApiErrorKind kind) {
  switch (kind) {
    case ApiErrorKind::not_found:
      return "NotFound";
    case ApiErrorKind::conflict:
      return "Conflict";
    case ApiErrorKind::already_exists:
      return "AlreadyExists";
    case ApiErrorKind::unauthorized:
      return "Unauthorized";
    case ApiErrorKind::forbidden:
      return "Forbidden";
    case ApiErrorKind::invalid:
      return "Invalid";
    case ApiErrorKind::too_many_requests:
      return "TooManyRequests";
    case ApiErrorKind::server_error:
      return "ServerError";
    case ApiErrorKind::network:
      return "NetworkError";
    case ApiErrorKind::timeout:
      return "Timeout";
    case ApiErrorKind::malformed_response:
      return "MalformedResponse";
    case ApiErrorKind::other:
      return "Error";
  }
  return "Error";
}

std::string ApiError::describe() const {
  std::string text;
  if (http_status != 0) text = std::to_string(http_status) + " ";
  text += to_string(kind);
  if (!message.empty()) text += ": " + message;
  return text;
}

}  // namespace le::util
