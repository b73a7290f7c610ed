#pragma once
// How the election reads and writes its Lease. kube/lease_client is the implementation against an
// API server; tests use an in-memory one. Like client-go's resourcelock.Interface, but every call
// is bounded by a timeout the elector chooses, so no request outlives the renew deadline.
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "election/leader_record.h"

namespace le::election {

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

template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(ApiError error) : value_(std::move(error)) {}
  bool ok() const { return std::holds_alternative<T>(value_); }
  const T& value() const { return std::get<T>(value_); }
  T& value() { return std::get<T>(value_); }
  const ApiError& error() const { return std::get<ApiError>(value_); }
  bool is(ApiErrorKind kind) const { return !ok() && error().kind == kind; }

 private:
  std::variant<T, ApiError> value_;
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  virtual Result<StoredLease> get(std::chrono::milliseconds timeout) = 0;
  // Creates the Lease with this record; already_exists if it exists.
  virtual Result<StoredLease> create(const LeaderRecord& record, std::chrono::milliseconds timeout) = 0;
  // Replaces base's record with this one, conditional on base.resource_version; everything in
  // base.raw_object that is not the record is kept.
  virtual Result<StoredLease> update(const StoredLease& base, const LeaderRecord& record,
                                     std::chrono::milliseconds timeout) = 0;
  // "namespace/name", for logs.
  virtual std::string describe() const = 0;
};

}  // namespace le::election
