#include "kube/lease_json.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "util/micro_time.h"

namespace le::kube {
namespace {

// ordered_json keeps the server's key order, so what goes back reads like what came in.
using Json = nlohmann::ordered_json;
using util::ApiError;
using util::ApiErrorKind;

constexpr const char* kApiVersion = "coordination.k8s.io/v1";
constexpr const char* kKind = "Lease";

ApiError malformed(const std::string& what) {
  return ApiError{ApiErrorKind::malformed_response, 0, "Lease object: " + what, std::nullopt};
}

// A field that is absent or null is "not set", as for Go's pointer fields in LeaseSpec.
const Json* field(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::int32_t> as_int32(const Json& value) {
  if (!value.is_number_integer()) return std::nullopt;
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) return std::nullopt;
    return static_cast<std::int32_t>(v);
  }
  const auto v = value.get<std::int64_t>();
  if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::int32_t>(v);
}

// Returns an error message, or "" on success.
std::string read_time(const Json& spec, const char* key, std::optional<util::WallTime>& out) {
  const Json* value = field(spec, key);
  if (value == nullptr) return {};
  if (!value->is_string()) return std::string("spec.") + key + " is not a string";
  out = util::parse_micro_time(value->get<std::string>());
  if (!out) return std::string("spec.") + key + " is not a MicroTime: \"" + value->get<std::string>() + "\"";
  return {};
}

// The annotation as lease-elector writes it: {"holderIdentity":...,"acquireTime":...,"address":...}.
// Anything else there (another writer's text, a stale term) is no address: it is never an error,
// since any client may write annotations.
std::string read_holder_address(const Json& metadata, const election::LeaderRecord& record) {
  const Json* annotations = field(metadata, "annotations");
  if (annotations == nullptr || !annotations->is_object() || !record.has_holder() || !record.acquire_time)
    return {};
  const Json* text = field(*annotations, kLeaderAddressAnnotation);
  if (text == nullptr || !text->is_string()) return {};
  const Json value = Json::parse(text->get<std::string>(), nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return {};
  const Json* holder = field(value, "holderIdentity");
  const Json* acquired = field(value, "acquireTime");
  const Json* address = field(value, "address");
  if (holder == nullptr || acquired == nullptr || address == nullptr || !holder->is_string() ||
      !acquired->is_string() || !address->is_string()) {
    return {};
  }
  if (holder->get<std::string>() != record.holder_identity ||
      acquired->get<std::string>() != util::format_micro_time(*record.acquire_time)) {
    return {};
  }
  return address->get<std::string>();
}

// The annotation for a record that names an address; none for one that does not (a release).
void write_holder_address(Json& object, const election::LeaderRecord& record) {
  Json& metadata = object["metadata"];
  if (!metadata.is_object()) metadata = Json::object();
  if (record.holder_address.empty() || !record.acquire_time) {
    if (metadata.contains("annotations") && metadata["annotations"].is_object()) {
      metadata["annotations"].erase(kLeaderAddressAnnotation);
      if (metadata["annotations"].empty()) metadata.erase("annotations");
    }
    return;
  }
  Json value = Json::object();
  value["holderIdentity"] = record.holder_identity;
  value["acquireTime"] = util::format_micro_time(*record.acquire_time);
  value["address"] = record.holder_address;
  Json& annotations = metadata["annotations"];
  if (!annotations.is_object()) annotations = Json::object();
  annotations[kLeaderAddressAnnotation] = value.dump();
}

void write_spec(Json& spec, const election::LeaderRecord& record) {
  // Written even when empty: client-go's release sends "holderIdentity": "" (a pointer to an empty
  // string), and readers treat "" like an absent field.
  spec["holderIdentity"] = record.holder_identity;
  if (record.lease_duration) {
    spec["leaseDurationSeconds"] = record.lease_duration->count();
  } else {
    spec.erase("leaseDurationSeconds");
  }
  if (record.acquire_time) {
    spec["acquireTime"] = util::format_micro_time(*record.acquire_time);
  } else {
    spec.erase("acquireTime");
  }
  if (record.renew_time) {
    spec["renewTime"] = util::format_micro_time(*record.renew_time);
  } else {
    spec.erase("renewTime");
  }
  spec["leaseTransitions"] = record.lease_transitions;
}

}  // namespace

util::Result<LeaseObject> parse_lease(std::string_view body) {
  Json object = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return malformed("not valid JSON");
  return lease_from_json(std::move(object));
}

util::Result<LeaseObject> lease_from_json(Json object) {
  if (!object.is_object()) return malformed("not a JSON object");
  if (const Json* kind = field(object, "kind"); kind != nullptr && *kind != kKind) {
    return malformed("kind is " + kind->dump() + ", not Lease");
  }
  const Json* metadata = field(object, "metadata");
  if (metadata == nullptr || !metadata->is_object()) return malformed("no metadata");
  const Json* resource_version = field(*metadata, "resourceVersion");
  if (resource_version == nullptr || !resource_version->is_string() ||
      resource_version->get<std::string>().empty()) {
    return malformed("no metadata.resourceVersion");
  }

  LeaseObject stored;
  stored.resource_version = resource_version->get<std::string>();
  if (const Json* uid = field(*metadata, "uid"); uid != nullptr && uid->is_string()) {
    stored.uid = uid->get<std::string>();
  }
  election::LeaderRecord& record = stored.record;

  static const Json kEmptySpec = Json::object();
  const Json* spec = field(object, "spec");
  if (spec == nullptr) spec = &kEmptySpec;
  if (!spec->is_object()) return malformed("spec is not an object");

  // Absent, null and "" are all "no holder" (a real API server drops an omitted holderIdentity).
  if (const Json* holder = field(*spec, "holderIdentity")) {
    if (!holder->is_string()) return malformed("spec.holderIdentity is not a string");
    record.holder_identity = holder->get<std::string>();
  }
  if (const Json* duration = field(*spec, "leaseDurationSeconds")) {
    const auto seconds = as_int32(*duration);
    if (!seconds) return malformed("spec.leaseDurationSeconds is not an int32");
    record.lease_duration = std::chrono::seconds(*seconds);
  }
  if (auto error = read_time(*spec, "acquireTime", record.acquire_time); !error.empty())
    return malformed(error);
  if (auto error = read_time(*spec, "renewTime", record.renew_time); !error.empty()) return malformed(error);
  if (const Json* transitions = field(*spec, "leaseTransitions")) {
    const auto count = as_int32(*transitions);
    if (!count) return malformed("spec.leaseTransitions is not an int32");
    record.lease_transitions = *count;
  }
  record.holder_address = read_holder_address(*metadata, record);
  stored.object = std::move(object);
  return stored;
}

util::Result<std::string> build_update_body(const LeaseObject& base, const election::LeaderRecord& record) {
  if (!base.object.is_object()) {
    return ApiError{ApiErrorKind::other, 0, "cannot update: the stored Lease object is not a JSON object",
                    std::nullopt};
  }
  Json object = base.object;
  if (!object.contains("apiVersion")) object["apiVersion"] = kApiVersion;
  if (!object.contains("kind")) object["kind"] = kKind;
  Json& metadata = object["metadata"];
  if (!metadata.is_object()) metadata = Json::object();
  metadata["resourceVersion"] = base.resource_version;
  // client-go's LeaseLock replaces the whole spec; this keeps spec fields it does not know
  // (newer API versions add preferredHolder and strategy), so an older sidecar does not erase them.
  Json& spec = object["spec"];
  if (!spec.is_object()) spec = Json::object();
  write_spec(spec, record);
  write_holder_address(object, record);
  return object.dump();
}

std::string build_create_body(std::string_view ns, std::string_view name,
                              const election::LeaderRecord& record) {
  Json object = Json::object();
  object["apiVersion"] = kApiVersion;
  object["kind"] = kKind;
  object["metadata"] = Json::object();
  object["metadata"]["name"] = std::string(name);
  object["metadata"]["namespace"] = std::string(ns);
  Json spec = Json::object();
  write_spec(spec, record);
  object["spec"] = std::move(spec);
  write_holder_address(object, record);
  return object.dump();
}

}  // namespace le::kube
