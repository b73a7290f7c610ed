#include "kube/pod_client.h"

#include <nlohmann/json.hpp>

#include "kube/api_call.h"

namespace le::kube {

using nlohmann::json;
using traffic::Pod;
using util::ApiError;
using util::Result;

namespace {

constexpr std::string_view kMergePatch = "application/merge-patch+json";
constexpr std::string_view kStrategicMergePatch = "application/strategic-merge-patch+json";

std::string string_or_empty(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void read_string_map(const json& meta, const char* key, std::map<std::string, std::string>& out) {
  const auto it = meta.find(key);
  if (it == meta.end() || !it->is_object()) return;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
}

Pod pod_from_json(const json& object) {
  Pod pod;
  const json& meta = object.at("metadata");
  pod.name = string_or_empty(meta, "name");
  pod.resource_version = string_or_empty(meta, "resourceVersion");
  read_string_map(meta, "labels", pod.labels);
  read_string_map(meta, "annotations", pod.annotations);
  if (const auto status = object.find("status"); status != object.end() && status->is_object()) {
    if (const auto conditions = status->find("conditions");
        conditions != status->end() && conditions->is_array()) {
      for (const auto& c : *conditions) {
        if (!c.is_object()) continue;
        pod.conditions.push_back({string_or_empty(c, "type"), string_or_empty(c, "status"),
                                  string_or_empty(c, "reason"), string_or_empty(c, "message"),
                                  string_or_empty(c, "lastProbeTime"),
                                  string_or_empty(c, "lastTransitionTime")});
      }
    }
  }
  return pod;
}

}  // namespace

Result<Pod> parse_pod(const std::string& body) {
  try {
    const auto object = json::parse(body);
    if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object())
      return malformed("pod", 200, "not a Pod object");
    auto pod = pod_from_json(object);
    if (pod.name.empty() || pod.resource_version.empty())
      return malformed("pod", 200, "no metadata.name or metadata.resourceVersion");
    return pod;
  } catch (const std::exception& e) {
    return malformed("pod", 200, e.what());
  }
}

std::string build_metadata_patch(const traffic::MetadataPatch& patch) {
  json meta = json::object();
  if (patch.resource_version) meta["resourceVersion"] = *patch.resource_version;
  // In a JSON merge patch, null deletes the key.
  for (const auto& [section, values] :
       {std::pair{"labels", &patch.labels}, std::pair{"annotations", &patch.annotations}}) {
    if (values->empty()) continue;
    json map = json::object();
    for (const auto& [k, v] : *values) map[k] = v ? json(*v) : json(nullptr);
    meta[section] = std::move(map);
  }
  return json{{"metadata", std::move(meta)}}.dump();
}

std::string build_condition_patch(const std::optional<std::string>& resource_version,
                                  const traffic::PodCondition& condition) {
  json c = json::object();
  c["type"] = condition.type;
  c["status"] = condition.status;
  if (!condition.reason.empty()) c["reason"] = condition.reason;
  if (!condition.message.empty()) c["message"] = condition.message;
  c["lastProbeTime"] = condition.last_probe_time.empty() ? json(nullptr) : json(condition.last_probe_time);
  c["lastTransitionTime"] =
      condition.last_transition_time.empty() ? json(nullptr) : json(condition.last_transition_time);
  // A strategic merge patch: PodStatus.conditions has patchMergeKey "type", so this one entry is
  // merged into the list; a JSON merge patch would replace the whole list, the kubelet's Ready
  // and ContainersReady included.
  json patch = json{{"status", {{"conditions", json::array({c})}}}};
  if (resource_version) patch["metadata"] = {{"resourceVersion", *resource_version}};
  return patch.dump();
}

PodClient::PodClient(std::unique_ptr<HttpTransport> transport, std::string ns)
    : transport_(std::move(transport)),
      namespace_(std::move(ns)),
      collection_path_("/api/v1/namespaces/" + namespace_ + "/pods") {}

Result<Pod> PodClient::pod_call(std::string_view method, const std::string& path, const std::string& body,
                                std::string_view content_type, std::chrono::milliseconds timeout,
                                const std::string& what) {
  auto answer = api_call(*transport_, method, path, body, content_type, timeout, what);
  if (!answer.ok()) return answer.error();
  auto pod = parse_pod(answer.value().body);
  // An unreadable answer to a write leaves its outcome unknown: malformed_response says so.
  if (!pod.ok()) return malformed(what, 200, pod.error().message);
  return pod;
}

Result<Pod> PodClient::get(const std::string& name, std::chrono::milliseconds timeout) {
  return pod_call("GET", collection_path_ + "/" + name, {}, {}, timeout,
                  "get pod " + namespace_ + "/" + name);
}

Result<std::vector<Pod>> PodClient::list(const std::string& label_selector,
                                         std::chrono::milliseconds timeout) {
  const std::string what = "list pods in " + namespace_ + " with labels " + label_selector;
  auto answer =
      api_call(*transport_, "GET", collection_path_ + "?labelSelector=" + query_escape(label_selector), {},
               {}, timeout, what);
  if (!answer.ok()) return answer.error();
  try {
    const auto list = json::parse(answer.value().body);
    if (!list.is_object() || !list.contains("items") ||
        !(list["items"].is_array() || list["items"].is_null()))
      return malformed(what, 200, "not a PodList");
    std::vector<Pod> pods;
    if (list["items"].is_array()) {
      for (const auto& item : list["items"]) pods.push_back(pod_from_json(item));
    }
    return pods;
  } catch (const std::exception& e) {
    return malformed(what, 200, e.what());
  }
}

Result<Pod> PodClient::patch_metadata(const std::string& name, const traffic::MetadataPatch& patch,
                                      std::chrono::milliseconds timeout) {
  return pod_call("PATCH", collection_path_ + "/" + name, build_metadata_patch(patch), kMergePatch, timeout,
                  "patch pod " + namespace_ + "/" + name);
}

Result<Pod> PodClient::patch_condition(const std::string& name,
                                       const std::optional<std::string>& resource_version,
                                       const traffic::PodCondition& condition,
                                       std::chrono::milliseconds timeout) {
  return pod_call("PATCH", collection_path_ + "/" + name + "/status",
                  build_condition_patch(resource_version, condition), kStrategicMergePatch, timeout,
                  "patch pod " + namespace_ + "/" + name + "/status");
}

}  // namespace le::kube
