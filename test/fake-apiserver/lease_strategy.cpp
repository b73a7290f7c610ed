#include "lease_strategy.h"

#include <cstdint>
#include <limits>

#include "micro_time.h"
#include "object_meta.h"

namespace fake {
namespace {

ApiError cannot_handle(const std::string& problem) {
  // The wording of runtime decoding errors: "Lease in version "v1" cannot be handled as a Lease: ...".
  return bad_request("Lease in version \"v1\" cannot be handled as a Lease: " + problem);
}

std::string first_char(const Json& v) { return v.dump().substr(0, 1); }

}  // namespace

LeaseStrategy::LeaseStrategy() {
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

  Json lease = Json::object();
  lease["kind"] = "Lease";
  lease["apiVersion"] = "coordination.k8s.io/v1";
  std::string problem;
  auto meta = decode_object_meta(body.contains("metadata") ? body["metadata"] : Json(), problem);
  if (!meta) return cannot_handle("v1.Lease.ObjectMeta: " + problem);
  lease["metadata"] = std::move(*meta);

  Json spec = Json::object();
  const Json in = body.contains("spec") ? body["spec"] : Json();
  if (!in.is_null() && !in.is_object()) {
    return cannot_handle("v1.Lease.Spec: readObjectStart: expect { or n, but found " + first_char(in));
  }
  // Field order as LeaseSpec declares it; fields not in the 1.20 schema are dropped silently.
  if (in.is_object()) {
    if (const auto it = in.find("holderIdentity"); it != in.end() && !it->is_null()) {
      if (!it->is_string()) {
        return cannot_handle(
            "v1.Lease.Spec: v1.LeaseSpec.HolderIdentity: ReadString: expects \" or n, but found " +
            first_char(*it));
      }
      // *string: "" is kept as "", absent and null stay absent (sample 15).
      spec["holderIdentity"] = *it;
    }
    if (const auto it = in.find("leaseDurationSeconds"); it != in.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < std::numeric_limits<std::int32_t>::min() ||
          it->get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
        return cannot_handle(
            "v1.Lease.Spec: v1.LeaseSpec.LeaseDurationSeconds: readInt32: unexpected value " + it->dump());
      }
      spec["leaseDurationSeconds"] = it->get<std::int32_t>();
    }
    for (const auto& [field, go_name] :
         {std::pair{"acquireTime", "AcquireTime"}, std::pair{"renewTime", "RenewTime"}}) {
      const auto it = in.find(field);
      if (it == in.end() || it->is_null()) continue;
      if (!it->is_string()) {
        return cannot_handle(std::string("v1.Lease.Spec: v1.LeaseSpec.") + go_name +
                             ": unmarshalerDecoder: json: cannot unmarshal " + it->type_name() +
                             " into Go value of type string");
      }
      auto parsed = normalize_micro_time(it->get<std::string>());
      if (auto* err = std::get_if<MicroTimeError>(&parsed)) {
        return cannot_handle(std::string("v1.Lease.Spec: v1.LeaseSpec.") + go_name +
                             ": unmarshalerDecoder: " + err->message);
      }
      spec[field] = std::get<std::string>(parsed);
    }
    if (const auto it = in.find("leaseTransitions"); it != in.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < std::numeric_limits<std::int32_t>::min() ||
          it->get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
        return cannot_handle("v1.Lease.Spec: v1.LeaseSpec.LeaseTransitions: readInt32: unexpected value " +
                             it->dump());
      }
      spec["leaseTransitions"] = it->get<std::int32_t>();
    }
  }
  lease["spec"] = std::move(spec);
  return lease;
}

namespace {

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
