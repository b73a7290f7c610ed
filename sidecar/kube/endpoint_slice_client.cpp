#include "kube/endpoint_slice_client.h"

#include <nlohmann/json.hpp>

#include "kube/api_call.h"

namespace le::kube {

using nlohmann::json;
using traffic::EndpointSlice;
using util::ApiError;
using util::ApiErrorKind;
using util::Result;

namespace {

constexpr std::string_view kJson = "application/json";

std::string string_or_empty(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<std::string> choose_endpoint_slice_version(const std::string& api_group_json) {
  try {
    const auto group = json::parse(api_group_json);
    bool v1 = false, v1beta1 = false;
    for (const auto& v : group.at("versions")) {
      const auto version = string_or_empty(v, "version");
      v1 = v1 || version == "v1";
      v1beta1 = v1beta1 || version == "v1beta1";
    }
    if (v1) return "v1";
    if (v1beta1) return "v1beta1";
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

Result<EndpointSlice> parse_endpoint_slice(const std::string& body) {
  try {
    const auto object = json::parse(body);
    const auto& meta = object.at("metadata");
    EndpointSlice slice;
    slice.name = string_or_empty(meta, "name");
    slice.resource_version = string_or_empty(meta, "resourceVersion");
    if (slice.name.empty() || slice.resource_version.empty())
      return malformed("endpointslice", 200, "no metadata.name or metadata.resourceVersion");
    for (const auto& [section, out] :
         {std::pair{"labels", &slice.labels}, std::pair{"annotations", &slice.annotations}}) {
      if (const auto it = meta.find(section); it != meta.end() && it->is_object()) {
        for (const auto& [k, v] : it->items()) {
          if (v.is_string()) (*out)[k] = v.get<std::string>();
        }
      }
    }
    if (const auto endpoints = object.find("endpoints"); endpoints != object.end() && endpoints->is_array()) {
      for (const auto& endpoint : *endpoints) {
        if (const auto addresses = endpoint.find("addresses");
            addresses != endpoint.end() && addresses->is_array()) {
          for (const auto& a : *addresses) {
            if (a.is_string()) slice.addresses.push_back(a.get<std::string>());
          }
        }
        if (const auto ref = endpoint.find("targetRef");
            slice.target_pod.empty() && ref != endpoint.end() && ref->is_object())
          slice.target_pod = string_or_empty(*ref, "name");
      }
    }
    if (const auto ports = object.find("ports"); ports != object.end() && ports->is_array()) {
      for (const auto& p : *ports) {
        traffic::EndpointPort port;
        port.name = string_or_empty(p, "name");
        port.port = p.value("port", 0);
        port.protocol = p.contains("protocol") ? string_or_empty(p, "protocol") : "TCP";
        slice.ports.push_back(port);
      }
    }
    slice.raw_object = body;
    return slice;
  } catch (const std::exception& e) {
    return malformed("endpointslice", 200, e.what());
  }
}

std::string build_endpoint_slice(const EndpointSlice& slice, const std::string& api_version,
                                 const std::string& ns) {
  json object = json::object();
  if (!slice.raw_object.empty()) object = json::parse(slice.raw_object);
  object["apiVersion"] = api_version;
  object["kind"] = "EndpointSlice";
  auto& meta = object["metadata"];
  meta["name"] = slice.name;
  meta["namespace"] = ns;
  if (!slice.resource_version.empty()) meta["resourceVersion"] = slice.resource_version;
  meta["labels"] = slice.labels;
  meta["annotations"] = slice.annotations;
  const bool ipv6 = !slice.addresses.empty() && slice.addresses.front().find(':') != std::string::npos;
  // addressType is immutable: keep what an existing slice has.
  if (!object.contains("addressType")) object["addressType"] = ipv6 ? "IPv6" : "IPv4";
  json endpoints = json::array();
  if (!slice.addresses.empty()) {
    json endpoint{{"addresses", slice.addresses}, {"conditions", {{"ready", true}}}};
    if (!slice.target_pod.empty())
      endpoint["targetRef"] = {{"kind", "Pod"}, {"namespace", ns}, {"name", slice.target_pod}};
    endpoints.push_back(std::move(endpoint));
  }
  object["endpoints"] = std::move(endpoints);
  json ports = json::array();
  for (const auto& p : slice.ports)
    ports.push_back({{"name", p.name}, {"port", p.port}, {"protocol", p.protocol}});
  object["ports"] = std::move(ports);
  return object.dump();
}

EndpointSliceClient::EndpointSliceClient(std::unique_ptr<HttpTransport> transport, std::string ns)
    : transport_(std::move(transport)), namespace_(std::move(ns)) {}

Result<std::string> EndpointSliceClient::collection(std::chrono::milliseconds timeout) {
  if (!version_) {
    auto group =
        api_call(*transport_, "GET", "/apis/discovery.k8s.io", {}, {}, timeout, "discover discovery.k8s.io");
    if (!group.ok()) return group.error();
    version_ = choose_endpoint_slice_version(group.value().body);
    if (!version_) {
      return ApiError{ApiErrorKind::malformed_response, 200,
                      "the API server serves neither discovery.k8s.io/v1 nor v1beta1 EndpointSlices",
                      std::nullopt};
    }
  }
  return "/apis/discovery.k8s.io/" + *version_ + "/namespaces/" + namespace_ + "/endpointslices";
}

Result<EndpointSlice> EndpointSliceClient::slice_call(std::string_view method, const std::string& path,
                                                      const std::string& body,
                                                      std::chrono::milliseconds timeout,
                                                      const std::string& what) {
  auto answer = api_call(*transport_, method, path, body, kJson, timeout, what);
  if (!answer.ok()) return answer.error();
  auto slice = parse_endpoint_slice(answer.value().body);
  if (!slice.ok()) return malformed(what, 200, slice.error().message);
  return slice;
}

Result<EndpointSlice> EndpointSliceClient::get(const std::string& name, std::chrono::milliseconds timeout) {
  auto path = collection(timeout);
  if (!path.ok()) return path.error();
  return slice_call("GET", path.value() + "/" + name, {}, timeout,
                    "get endpointslice " + namespace_ + "/" + name);
}

Result<EndpointSlice> EndpointSliceClient::create(const EndpointSlice& slice,
                                                  std::chrono::milliseconds timeout) {
  auto path = collection(timeout);
  if (!path.ok()) return path.error();
  EndpointSlice fresh = slice;
  fresh.resource_version.clear();
  return slice_call("POST", path.value(), build_endpoint_slice(fresh, api_version(), namespace_), timeout,
                    "create endpointslice " + namespace_ + "/" + slice.name);
}

Result<EndpointSlice> EndpointSliceClient::update(const EndpointSlice& slice,
                                                  std::chrono::milliseconds timeout) {
  auto path = collection(timeout);
  if (!path.ok()) return path.error();
  return slice_call("PUT", path.value() + "/" + slice.name,
                    build_endpoint_slice(slice, api_version(), namespace_), timeout,
                    "update endpointslice " + namespace_ + "/" + slice.name);
}

}  // namespace le::kube
