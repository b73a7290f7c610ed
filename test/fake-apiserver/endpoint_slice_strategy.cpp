#include "endpoint_slice_strategy.h"

#include <arpa/inet.h>

#include "decode_errors.h"
#include "object_meta.h"

namespace fake {
namespace {

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

}  // namespace

EndpointSliceStrategy::EndpointSliceStrategy(std::string version, KubeVersion kube) : kube_(std::move(kube)) {
  info_.group = "discovery.k8s.io";
  info_.version = std::move(version);
  info_.resource = "endpointslices";
  info_.kind = "EndpointSlice";
  info_.list_kind = "EndpointSliceList";
  info_.singular = "";
  info_.namespaced = true;
  info_.allow_unconditional_update = true;
  info_.verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
}

std::variant<Json, ApiError> EndpointSliceStrategy::decode(const Json& body) const {
  const std::string version = info_.api_version();
  if (!body.is_object()) {
    return bad_request(
        "the object provided is unrecognized (must be of type EndpointSlice): couldn't get "
        "version/kind; json parse error: json: cannot unmarshal " +
        std::string(body.type_name()) + " into Go value of type struct");
  }
  const std::string kind = body.value("kind", "");
  const std::string api_version = body.value("apiVersion", "");
  if ((!kind.empty() && kind != "EndpointSlice") || (!api_version.empty() && api_version != version)) {
    return bad_request(kind + " in version \"" + api_version +
                       "\" cannot be handled as a EndpointSlice: no kind \"" + kind +
                       "\" is registered for version \"" + api_version + "\"");
  }
  Json slice = Json::object();
  slice["kind"] = "EndpointSlice";
  slice["apiVersion"] = version;
  // "EndpointSlice in version "v1" cannot be handled as a EndpointSlice: <problem>" (sic).
  const auto cannot_handle = [this](const std::string& problem) {
    return bad_request("EndpointSlice in version \"" + info_.version +
                       "\" cannot be handled as a EndpointSlice: " + problem);
  };
  const JsonDecoder decoder = kube_.decoder;
  const std::string go_package = info_.version + ".";  // v1. or v1beta1.
  std::string problem;
  auto meta = decode_object_meta(body.contains("metadata") ? body["metadata"] : Json(), decoder,
                                 "EndpointSlice", go_package + "EndpointSlice.ObjectMeta", problem);
  if (!meta) return cannot_handle(problem);
  slice["metadata"] = std::move(*meta);
  const auto type_error = [&](const char* field, const char* go_name, const std::string& go_type,
                              const std::string& iter_problem, const Json& found) {
    return cannot_handle(word(decoder, {go_package + "EndpointSlice." + go_name, iter_problem,
                                        "EndpointSlice", field, go_type, json_found(found)}));
  };
  if (body.contains("addressType") && !body["addressType"].is_null()) {
    if (!body["addressType"].is_string())
      return type_error("addressType", "AddressType", go_package + "AddressType",
                        "ReadString: expects \" or n, but found " + body["addressType"].dump().substr(0, 1),
                        body["addressType"]);
    slice["addressType"] = body["addressType"];
  }
  // endpoints is required in the schema; null decodes as an empty list, written back as null.
  const Json endpoints = body.value("endpoints", Json());
  if (!endpoints.is_null() && !endpoints.is_array())
    return type_error("endpoints", "Endpoints", "[]" + go_package + "Endpoint",
                      "[]" + go_package + "Endpoint: decode slice: expect [ or n, but found " +
                          endpoints.dump().substr(0, 1),
                      endpoints);
  slice["endpoints"] = endpoints;
  if (body.contains("ports") && !body["ports"].is_null()) {
    if (!body["ports"].is_array())
      return type_error("ports", "Ports", "[]" + go_package + "EndpointPort",
                        "[]" + go_package + "EndpointPort: decode slice: expect [ or n, but found " +
                            body["ports"].dump().substr(0, 1),
                        body["ports"]);
    slice["ports"] = body["ports"];
  }
  return slice;
}

FieldErrors EndpointSliceStrategy::validate(const Json& object) const {
  auto errors = validate_object_meta(object["metadata"], true);
  const std::string type = object.value("addressType", "");
  if (type.empty()) {
    errors.push_back(FieldError::required("addressType", ""));
  } else if (type != "IPv4" && type != "IPv6" && type != "FQDN") {
    errors.push_back(FieldError::not_supported("addressType", go_quoted(type),
                                               "supported values: \"FQDN\", \"IPv4\", \"IPv6\""));
  }
  const Json& endpoints = object["endpoints"];
  if (endpoints.is_array()) {
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      const std::string at = "endpoints[" + std::to_string(i) + "].addresses";
      const Json& e = endpoints[i];
      if (!e.is_object() || !e.contains("addresses") || !e["addresses"].is_array() ||
          e["addresses"].empty() || e["addresses"].size() > 100) {
        errors.push_back(FieldError::required(at, "must contain at least 1 address"));
        continue;
      }
      for (const auto& a : e["addresses"]) {
        const std::string address = a.is_string() ? a.get<std::string>() : "";
        if ((type == "IPv4" && !is_ipv4(address)) || (type == "IPv6" && !is_ipv6(address))) {
          errors.push_back(
              FieldError::invalid(at + "[0]", go_quoted(address), "must be a valid " + type + " address"));
        }
      }
    }
  }
  if (object.contains("ports")) {
    for (std::size_t i = 0; i < object["ports"].size(); ++i) {
      const Json& p = object["ports"][i];
      const std::string at = "ports[" + std::to_string(i) + "]";
      const std::string protocol = p.value("protocol", "TCP");
      if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
        errors.push_back(FieldError{"FieldValueNotSupported", at + ".protocol", go_quoted(protocol),
                                    "supported values: \"SCTP\", \"TCP\", \"UDP\""});
      }
      if (p.contains("port") &&
          (!p["port"].is_number_integer() || p["port"].get<long>() < 1 || p["port"].get<long>() > 65535)) {
        errors.push_back(
            FieldError::invalid(at + ".port", p["port"].dump(), "must be between 1 and 65535, inclusive"));
      }
    }
  }
  return errors;
}

FieldErrors EndpointSliceStrategy::validate_update(const Json& object, const Json& old) const {
  auto errors = validate_object_meta_update(object["metadata"], old["metadata"]);
  for (auto& e : validate(object)) {
    if (e.field.rfind("metadata.", 0) != 0) errors.push_back(std::move(e));
  }
  if (object.value("addressType", "") != old.value("addressType", "")) {
    errors.push_back(
        FieldError::invalid("addressType", go_quoted(object.value("addressType", "")), "field is immutable"));
  }
  return errors;
}

// endpointSliceStrategy (1.20): metadata.generation is 1 on create and goes up by one on an update
// that changes anything but metadata, as the real server's answers show.
Json EndpointSliceStrategy::prepare_for_create(Json object) const {
  object["metadata"]["generation"] = 1;
  return object;
}

Json EndpointSliceStrategy::prepare_for_update(Json object, const Json& old, const std::string&) const {
  Json without_meta = object;
  Json old_without_meta = old;
  without_meta.erase("metadata");
  old_without_meta.erase("metadata");
  const std::int64_t generation =
      old.contains("metadata") ? old["metadata"].value("generation", std::int64_t{0}) : 0;
  object["metadata"]["generation"] =
      nlohmann::json::parse(without_meta.dump()) == nlohmann::json::parse(old_without_meta.dump())
          ? generation
          : generation + 1;
  return object;
}

}  // namespace fake
