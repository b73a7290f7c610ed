#pragma once
// The outcome of a call that can fail: a value, or an error that says why. Every call to the API
// server (the Lease, the Pods, the EndpointSlice) answers with an ApiError; loading credentials or a
// kubeconfig answers with a message for the operator (E = std::string) that names the file and the
// missing or bad key. Nothing here throws to the caller.
#include <chrono>
#include <concepts>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace le::util {

enum class ApiErrorKind {
  not_found,           // 404
  conflict,            // 409 Conflict: the resourceVersion is stale, someone else wrote
  already_exists,      // 409 AlreadyExists on create: the race to create was lost
  unauthorized,        // 401: the token is wrong or expired
  forbidden,           // 403: RBAC (or anonymous)
  invalid,             // 422, and 400 BadRequest: our request was wrong
  too_many_requests,   // 429, possibly with Retry-After
  server_error,        // 5xx
  network,             // could not connect, connection dropped; the request may or may not have applied
  timeout,             // no answer in time; the request may or may not have applied
  malformed_response,  // an answer we could not parse
  other,
};

const char* to_string(ApiErrorKind kind);

struct ApiError {
  ApiErrorKind kind = ApiErrorKind::other;
  int http_status = 0;  // 0 when there was no HTTP answer
  std::string message;  // the API's Status message, or the transport's error; never a token
  std::optional<std::chrono::milliseconds> retry_after;

  // Whether a write that failed this way may still have been applied by the server.
  bool outcome_unknown() const {
    return kind == ApiErrorKind::network || kind == ApiErrorKind::timeout ||
           kind == ApiErrorKind::server_error || kind == ApiErrorKind::malformed_response;
  }
  std::string describe() const;  // "409 Conflict: the object has been modified; ..."
};

template <class T, class E = ApiError>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(E error) : value_(std::move(error)) {}
  bool ok() const { return std::holds_alternative<T>(value_); }
  const T& value() const { return std::get<T>(value_); }
  T& value() { return std::get<T>(value_); }
  const E& error() const { return std::get<E>(value_); }
  bool is(ApiErrorKind kind) const requires std::same_as<E, ApiError> {
    return !ok() && error().kind == kind;
  }

 private:
  std::variant<T, E> value_;
};

}  // namespace le::util
