#include "status.h"

namespace fake {
namespace {

Json details_of(const GroupResource& gr, const std::string& name) {
  Json d = Json::object();
  if (!name.empty()) d["name"] = name;
  if (!gr.group.empty()) d["group"] = gr.group;
  // "Yes we set Kind field to resource" (apimachinery): details.kind carries the plural resource.
  if (!gr.resource.empty()) d["kind"] = gr.resource;
  return d;
}

ApiError error(unsigned code, const std::string& reason, const std::string& message,
               std::optional<Json> details = std::nullopt) {
  return ApiError{code, make_status(code, reason, message, std::move(details)), std::nullopt};
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

FieldError FieldError::invalid(std::string field, std::string value, std::string detail) {
  return FieldError{"FieldValueInvalid", std::move(field), std::move(value), std::move(detail)};
}

FieldError FieldError::required(std::string field, std::string detail) {
  return FieldError{"FieldValueRequired", std::move(field), "", std::move(detail)};
}

FieldError FieldError::forbidden(std::string field, std::string detail) {
  return FieldError{"FieldValueForbidden", std::move(field), "", std::move(detail)};
}

FieldError FieldError::not_supported(std::string field, std::string value, std::string detail) {
  return FieldError{"FieldValueNotSupported", std::move(field), std::move(value), std::move(detail)};
}

// field.Error.ErrorBody: the type's name (ErrorType.String), then the value for the types that show it.
std::string FieldError::body() const {
  if (type == "FieldValueRequired") return "Required value: " + detail;
  if (type == "FieldValueForbidden") return "Forbidden: " + detail;
  if (type == "FieldValueNotSupported") return "Unsupported value: " + value + ": " + detail;
  return "Invalid value: " + value + ": " + detail;
}

std::string FieldError::to_string() const { return field + ": " + body(); }

Json make_status(unsigned code, const std::string& reason, const std::string& message,
                 std::optional<Json> details) {
  Json s = Json::object();
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = Json::object();
  s["status"] = "Failure";
  if (!message.empty()) s["message"] = message;
  if (!reason.empty()) s["reason"] = reason;
  if (details) s["details"] = std::move(*details);
  s["code"] = code;
  return s;
}

ApiError not_found(const GroupResource& gr, const std::string& name) {
  return error(404, "NotFound", gr.qualified() + " " + quoted(name) + " not found", details_of(gr, name));
}

ApiError already_exists(const GroupResource& gr, const std::string& name) {
  return error(409, "AlreadyExists", gr.qualified() + " " + quoted(name) + " already exists",
               details_of(gr, name));
}

ApiError conflict(const GroupResource& gr, const std::string& name, const std::string& why) {
  return error(409, "Conflict",
               "Operation cannot be fulfilled on " + gr.qualified() + " " + quoted(name) + ": " + why,
               details_of(gr, name));
}

ApiError conflict_modified(const GroupResource& gr, const std::string& name) {
  // registry.OptimisticLockErrorMsg
  return conflict(
      gr, name,
      "the object has been modified; please apply your changes to the latest version and try again");
}

ApiError invalid(const std::string& group, const std::string& kind, const std::string& name,
                 const FieldErrors& errors) {
  std::string aggregate;
  if (errors.size() == 1) {
    aggregate = errors.front().to_string();
  } else {
    // utilerrors.NewAggregate prints several errors as "[a, b]".
    aggregate = "[";
    for (std::size_t i = 0; i < errors.size(); ++i) {
      if (i) aggregate += ", ";
      aggregate += errors[i].to_string();
    }
    aggregate += "]";
  }
  Json causes = Json::array();
  for (const auto& e : errors) {
    causes.push_back(Json{{"reason", e.type}, {"message", e.body()}, {"field", e.field}});
  }
  Json details = Json::object();
  if (!name.empty()) details["name"] = name;
  if (!group.empty()) details["group"] = group;
  details["kind"] = kind;
  details["causes"] = std::move(causes);
  const std::string qualified_kind = group.empty() ? kind : kind + "." + group;
  return error(422, "Invalid", qualified_kind + " " + quoted(name) + " is invalid: " + aggregate,
               std::move(details));
}

ApiError bad_request(const std::string& message) { return error(400, "BadRequest", message); }

ApiError forbidden(const GroupResource& gr, const std::string& name, const std::string& reason) {
  const std::string subject = name.empty() ? gr.qualified() : gr.qualified() + " " + quoted(name);
  return error(403, "Forbidden", subject + " is forbidden: " + reason, details_of(gr, name));
}

ApiError forbidden_path(const std::string& reason) {
  return error(403, "Forbidden", "forbidden: " + reason, Json::object());
}

ApiError unauthorized() { return error(401, "Unauthorized", "Unauthorized"); }

ApiError unsupported_media_type() {
  return error(415, "UnsupportedMediaType", "415: Unsupported Media Type", Json::object());
}

ApiError method_not_allowed() {
  return error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
               Json::object());
}

ApiError path_not_found() {
  return error(404, "NotFound", "the server could not find the requested resource", Json::object());
}

ApiError gone_expired(const std::string& message) { return error(410, "Expired", message); }

ApiError internal_error(const std::string& why) {
  return error(500, "InternalError", "Internal error occurred: " + why,
               Json{{"causes", Json::array({Json{{"message", why}}})}});
}

ApiError unknown_error(unsigned code, const std::string& message) { return error(code, "", message); }

ApiError error_for_code(unsigned code, const std::string& why, std::optional<unsigned> retry_after_seconds) {
  ApiError e;
  switch (code) {
    case 500:
      e = internal_error(why);
      break;
    case 503:
      e = error(503, "ServiceUnavailable", "the server is currently unable to handle the request");
      break;
    case 429:
      e = error(429, "TooManyRequests",
                "the server has received too many requests and has asked us to try again later");
      break;
    case 504:
      e = error(504, "Timeout",
                "the server was unable to return a response in the time allotted, but may still be "
                "processing the request");
      break;
    case 409:
      e = error(409, "Conflict", why);
      break;
    default:
      e = unknown_error(code, why);
      break;
  }
  if (retry_after_seconds && *retry_after_seconds > 0) {
    e.retry_after_seconds = retry_after_seconds;
    if (!e.status.contains("details")) e.status["details"] = Json::object();
    e.status["details"]["retryAfterSeconds"] = *retry_after_seconds;
    // Keep "code" last, as the real server orders it.
    const auto c = e.status["code"];
    e.status.erase("code");
    e.status["code"] = c;
  }
  return e;
}

}  // namespace fake
