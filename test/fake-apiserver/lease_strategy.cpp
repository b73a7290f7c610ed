#include "lease_strategy.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "decode_errors.h"
#include "micro_time.h"
#include "names.h"
#include "object_meta.h"

namespace fake {
namespace {

ApiError cannot_handle(const std::string& problem) {
  // The wording of runtime decoding errors: "Lease in version "v1" cannot be handled as a Lease: ...".
  return bad_request("Lease in version \"v1\" cannot be handled as a Lease: " + problem);
}

std::string first_char(const Json& v) { return v.dump().substr(0, 1); }

}  // namespace

LeaseStrategy::LeaseStrategy(KubeVersion version) : version_(std::move(version)) {
  info_.group = "coordination.k8s.io";
  info_.version = "v1";
  info_.resource = "leases";
  info_.kind = "Lease";
  info_.list_kind = "LeaseList";
  info_.singular = "";
  info_.namespaced = true;
  // "AllowCreateOnUpdate is true for Lease; this means you may create one with a PUT request."
  info_.allow_create_on_update = true;
  info_.verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
}

std::variant<Json, ApiError> LeaseStrategy::decode(const Json& body) const {
  if (!body.is_object()) {
    return bad_request(
        "the object provided is unrecognized (must be of type Lease): couldn't get version/kind; "
        "json parse error: json: cannot unmarshal " +
        std::string(body.type_name()) +
        " into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
        "Kind string \"json:\\\"kind,omitempty\\\"\" }");
  }
  const std::string kind =
      body.contains("kind") && body["kind"].is_string() ? body["kind"].get<std::string>() : "";
  const std::string api_version = body.contains("apiVersion") && body["apiVersion"].is_string()
                                      ? body["apiVersion"].get<std::string>()
                                      : "";
  // An empty kind/apiVersion is defaulted from the URL; a different one is refused. v1beta1 Leases
  // are the same schema, which the real server converts.
  if ((!kind.empty() && kind != "Lease") ||
      (!api_version.empty() && api_version != "coordination.k8s.io/v1" &&
       api_version != "coordination.k8s.io/v1beta1")) {
    return bad_request(kind + " in version \"" + api_version + "\" cannot be handled as a Lease: no kind \"" +
                       kind + "\" is registered for version \"" + api_version + "\"");
  }

  const JsonDecoder decoder = version_.decoder;
  Json lease = Json::object();
  lease["kind"] = "Lease";
  lease["apiVersion"] = "coordination.k8s.io/v1";
  std::string problem;
  auto meta = decode_object_meta(body.contains("metadata") ? body["metadata"] : Json(), decoder, "Lease",
                                 "v1.Lease.ObjectMeta", problem);
  if (!meta) return cannot_handle(problem);
  lease["metadata"] = std::move(*meta);

  Json spec = Json::object();
  const Json in = body.contains("spec") ? body["spec"] : Json();
  if (!in.is_null() && !in.is_object()) {
    return cannot_handle(
        word(decoder, {"v1.Lease.Spec", "readObjectStart: expect { or n, but found " + first_char(in),
                       "Lease", "spec", "v1.LeaseSpec", json_found(in)}));
  }
  // A LeaseSpec field of the wrong JSON type, in the wording of the version's decoder.
  const auto type_error = [decoder](const char* field, const char* go_name, const char* go_type,
                                    const std::string& iter_problem, const std::string& found) {
    return cannot_handle(word(decoder, {std::string("v1.Lease.Spec: v1.LeaseSpec.") + go_name, iter_problem,
                                        "LeaseSpec", std::string("spec.") + field, go_type, found}));
  };
  const auto string_field = [&](const char* field, const char* go_name,
                                const char* go_type) -> std::optional<ApiError> {
    const auto it = in.find(field);
    if (it == in.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
      return type_error(field, go_name, go_type, "ReadString: expects \" or n, but found " + first_char(*it),
                        json_found(*it));
    }
    // *string: "" is kept as "", absent and null stay absent (sample 15).
    spec[field] = *it;
    return std::nullopt;
  };
  const auto int32_field = [&](const char* field, const char* go_name) -> std::optional<ApiError> {
    const auto it = in.find(field);
    if (it == in.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() || it->get<std::int64_t>() < std::numeric_limits<std::int32_t>::min() ||
        it->get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      // encoding/json quotes a number that does not fit ("number 1.5"), not a value of another type.
      return type_error(field, go_name, "int32", "readInt32: unexpected value " + it->dump(),
                        json_found(*it, true));
    }
    spec[field] = it->get<std::int32_t>();
    return std::nullopt;
  };
  const auto micro_time_field = [&](const char* field, const char* go_name) -> std::optional<ApiError> {
    const auto it = in.find(field);
    if (it == in.end() || it->is_null()) return std::nullopt;
    // MicroTime.UnmarshalJSON reads a Go string first; a decoder wraps that error as its own.
    if (!it->is_string()) {
      return type_error(field, go_name, "string",
                        std::string("unmarshalerDecoder: json: cannot unmarshal ") + it->type_name() +
                            " into Go value of type string",
                        json_found(*it));
    }
    auto parsed = normalize_micro_time(it->get<std::string>());
    if (auto* err = std::get_if<MicroTimeError>(&parsed)) {
      return cannot_handle(word_unmarshaler_error(
          decoder, std::string("v1.Lease.Spec: v1.LeaseSpec.") + go_name, err->message));
    }
    spec[field] = std::get<std::string>(parsed);
    return std::nullopt;
  };
  // Field order as LeaseSpec declares it; fields not in the version's schema are dropped silently.
  if (in.is_object()) {
    for (auto error :
         {string_field("holderIdentity", "HolderIdentity", "string"),
          int32_field("leaseDurationSeconds", "LeaseDurationSeconds"),
          micro_time_field("acquireTime", "AcquireTime"), micro_time_field("renewTime", "RenewTime"),
          int32_field("leaseTransitions", "LeaseTransitions")}) {
      if (error) return *error;
    }
    // coordination/v1 LeaseSpec Strategy (*CoordinatedLeaseStrategy) and PreferredHolder (*string),
    // after LeaseTransitions (k8s.io/api coordination/v1/types.go).
    if (version_.lease_coordinated_fields) {
      for (auto error : {string_field("strategy", "Strategy", "v1.CoordinatedLeaseStrategy"),
                         string_field("preferredHolder", "PreferredHolder", "string")}) {
        if (error) return *error;
      }
    }
  }
  lease["spec"] = std::move(spec);
  return lease;
}

namespace {

// validation.ValidateLeaseSpec (k8s.io/kubernetes pkg/apis/coordination/validation/validation.go).
FieldErrors validate_spec(const Json& spec) {
  FieldErrors errors;
  if (spec.contains("leaseDurationSeconds") && spec["leaseDurationSeconds"].get<std::int64_t>() <= 0) {
    errors.push_back(FieldError::invalid("spec.leaseDurationSeconds", spec["leaseDurationSeconds"].dump(),
                                         "must be greater than 0"));
  }
  if (spec.contains("leaseTransitions") && spec["leaseTransitions"].get<std::int64_t>() < 0) {
    errors.push_back(FieldError::invalid("spec.leaseTransitions", spec["leaseTransitions"].dump(),
                                         "must be greater than or equal to 0"));
  }
  // Only present where the version keeps them (decode). ValidateCoordinatedLeaseStrategy is given
  // the path spec.strategy and adds "strategy" again: the real message says spec.strategy.strategy.
  const std::string strategy = spec.value("strategy", "");
  if (spec.contains("strategy")) {
    if (strategy.find('/') == std::string::npos) {
      if (strategy != "OldestEmulationVersion") {
        errors.push_back(FieldError::not_supported("spec.strategy.strategy", go_quoted(strategy),
                                                   "supported values: \"OldestEmulationVersion\""));
      }
    } else {
      for (const auto& message : qualified_name_errors(strategy))
        errors.push_back(FieldError::invalid("spec.strategy.strategy", go_quoted(strategy), message));
    }
  }
  if (!spec.value("preferredHolder", "").empty() && strategy.empty()) {
    errors.push_back(
        FieldError::forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"));
  }
  return errors;
}

}  // namespace

FieldErrors LeaseStrategy::validate(const Json& object) const {
  auto errors = validate_object_meta(object["metadata"], true);
  for (auto& e : validate_spec(object["spec"])) errors.push_back(std::move(e));
  return errors;
}

FieldErrors LeaseStrategy::validate_update(const Json& object, const Json& old) const {
  auto errors = validate_object_meta_update(object["metadata"], old["metadata"]);
  for (auto& e : validate_spec(object["spec"])) errors.push_back(std::move(e));
  return errors;
}

}  // namespace fake
