#pragma once
// metav1.Status bodies, worded as k8s.io/apimachinery/pkg/api/errors words them (see the captured
// samples in test/fixtures/k8s-api-samples). Every failure the fake answers is one of these.
#include <optional>
#include <string>
#include <vector>

#include "json.h"

namespace fake {

// A resource as the errors package names it: "leases.coordination.k8s.io", or "pods" in the core group.
struct GroupResource {
  std::string group;
  std::string resource;
  std::string qualified() const { return group.empty() ? resource : resource + "." + group; }
};

// field.Error: one cause of a 422 Invalid.
struct FieldError {
  std::string type;    // "FieldValueInvalid", "FieldValueRequired", ...
  std::string field;   // "spec.leaseDurationSeconds"
  std::string value;   // the bad value as Go's %#v prints it: -5, "Bad_Name", 0x0; empty for Required
  std::string detail;  // "must be greater than 0"

  static FieldError invalid(std::string field, std::string value, std::string detail);
  static FieldError required(std::string field, std::string detail);
  static FieldError forbidden(std::string field, std::string detail);
  // field.NotSupported: `detail` is "supported values: ..." as Go quotes them.
  static FieldError not_supported(std::string field, std::string value, std::string detail);
  std::string body() const;       // "Invalid value: -5: must be greater than 0"
  std::string to_string() const;  // "spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0"
};
using FieldErrors = std::vector<FieldError>;

// A failed request: the HTTP status and the Status object sent as its body.
struct ApiError {
  unsigned code = 500;
  Json status;
  std::optional<unsigned> retry_after_seconds;  // sent as Retry-After when set
};

Json make_status(unsigned code, const std::string& reason, const std::string& message,
                 std::optional<Json> details = std::nullopt);

ApiError not_found(const GroupResource& gr, const std::string& name);
ApiError already_exists(const GroupResource& gr, const std::string& name);
// "Operation cannot be fulfilled on leases.coordination.k8s.io \"x\": <why>".
ApiError conflict(const GroupResource& gr, const std::string& name, const std::string& why);
// The optimistic-lock message of sample 06.
ApiError conflict_modified(const GroupResource& gr, const std::string& name);
// `qualified_kind` is what the caller of NewInvalid passed: validation uses the Kind ("Lease"),
// the storage layer's missing-resourceVersion check uses the resource ("leases"), as samples 07/08 show.
ApiError invalid(const std::string& group, const std::string& kind, const std::string& name,
                 const FieldErrors& errors);
ApiError bad_request(const std::string& message);
ApiError forbidden(const GroupResource& gr, const std::string& name, const std::string& reason);
ApiError forbidden_path(const std::string& reason);
ApiError unauthorized();
ApiError unsupported_media_type();
ApiError method_not_allowed();
ApiError path_not_found();
ApiError gone_expired(const std::string& message);
// errors.NewInternalError: 500 "Internal error occurred: <why>".
ApiError internal_error(const std::string& why);
// A plain Go error that reached the handler (no reason; e.g. "resourceVersion should not be set on
// objects to be created" comes from the etcd3 store as such).
ApiError unknown_error(unsigned code, const std::string& message);
// The Status a real server or a proxy in front of it sends for `code` when overloaded or failing.
ApiError error_for_code(unsigned code, const std::string& why, std::optional<unsigned> retry_after_seconds);

}  // namespace fake
