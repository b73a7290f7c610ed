#pragma once
// In-memory Pods and EndpointSlices for the routing tests, strict where the API server is:
// a resourceVersion precondition that does not match is 409 Conflict, a write that changes nothing
// keeps the resourceVersion, conditions merge by type (strategic merge patch), and RBAC can deny
// a verb with 403. Hooks let a test run another replica's writes "while a request is in flight".
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "route/route_api.h"

namespace le::testing {

using route::ApiError;
using route::ApiErrorKind;
using route::milliseconds;
using route::Result;

inline ApiError conflict_error(const std::string& what) {
  return ApiError{
      ApiErrorKind::conflict, 409,
      "Operation cannot be fulfilled on " + what +
          ": the object has been modified; please apply your changes to the latest version and try again",
      std::nullopt};
}

class Versions {
 public:
  std::string next() { return std::to_string(++counter_); }

 private:
  std::uint64_t counter_ = 100;
};

class MemoryPods final : public route::PodApi {
 public:
  explicit MemoryPods(Versions& versions) : versions_(versions) {}

  std::map<std::string, route::Pod> pods;
  std::set<std::string> denied;  // "patch pods", "list pods", "patch pods/status"
  std::vector<milliseconds> write_timeouts;
  int writes = 0;
  // Runs once, just before the next write is applied (the request is "in flight").
  std::function<void()> before_next_write;

  void add(const std::string& name, std::map<std::string, std::string> labels) {
    route::Pod pod;
    pod.name = name;
    pod.labels = std::move(labels);
    pod.resource_version = versions_.next();
    pod.conditions.push_back({"Ready", "True", "", "", "", "2026-01-01T00:00:00Z"});
    pods[name] = pod;
  }
  std::vector<std::string> labelled(const std::string& key, const std::string& value = "true") const {
    std::vector<std::string> out;
    for (const auto& [name, pod] : pods) {
      const auto it = pod.labels.find(key);
      if (it != pod.labels.end() && it->second == value) out.push_back(name);
    }
    return out;
  }
  std::vector<std::string> with_condition_true(const std::string& type) const {
    std::vector<std::string> out;
    for (const auto& [name, pod] : pods) {
      const auto* c = pod.condition(type);
      if (c && c->status == "True") out.push_back(name);
    }
    return out;
  }

  Result<route::Pod> get(const std::string& name, milliseconds) override {
    if (auto e = deny("get", "pods", name)) return *e;
    const auto it = pods.find(name);
    if (it == pods.end())
      return ApiError{ApiErrorKind::not_found, 404, "pods \"" + name + "\" not found", std::nullopt};
    return it->second;
  }
  Result<std::vector<route::Pod>> list(const std::string& selector, milliseconds) override {
    if (auto e = deny("list", "pods", "")) return *e;
    std::vector<route::Pod> out;
    for (const auto& [name, pod] : pods) {
      if (matches(pod, selector)) out.push_back(pod);
    }
    return out;
  }
  Result<route::Pod> patch_metadata(const std::string& name, const route::MetadataPatch& patch,
                                    milliseconds timeout) override {
    return write(name, patch.resource_version, timeout, "pods", [&](route::Pod& pod) {
      for (const auto& [k, v] : patch.labels) v ? void(pod.labels[k] = *v) : void(pod.labels.erase(k));
      for (const auto& [k, v] : patch.annotations)
        v ? void(pod.annotations[k] = *v) : void(pod.annotations.erase(k));
    });
  }
  Result<route::Pod> patch_condition(const std::string& name, const std::optional<std::string>& rv,
                                     const route::PodCondition& condition, milliseconds timeout) override {
    return write(name, rv, timeout, "pods/status", [&](route::Pod& pod) {
      for (auto& c : pod.conditions) {
        if (c.type == condition.type) {
          c = condition;
          return;
        }
      }
      pod.conditions.push_back(condition);
    });
  }
  std::string namespace_name() const override { return "default"; }

 private:
  static bool matches(const route::Pod& pod, const std::string& selector) {
    std::size_t start = 0;
    while (start < selector.size()) {
      auto comma = selector.find(',', start);
      if (comma == std::string::npos) comma = selector.size();
      const auto term = selector.substr(start, comma - start);
      const auto eq = term.find('=');
      const auto it = pod.labels.find(term.substr(0, eq));
      if (it == pod.labels.end() || it->second != term.substr(eq + 1)) return false;
      start = comma + 1;
    }
    return true;
  }
  std::optional<ApiError> deny(const std::string& verb, const std::string& resource,
                               const std::string& name) const {
    if (!denied.count(verb + " " + resource)) return std::nullopt;
    return ApiError{ApiErrorKind::forbidden, 403,
                    "pods \"" + name + "\" is forbidden: User \"elector\" cannot " + verb + " resource \"" +
                        resource + "\" in API group \"\" in the namespace \"default\"",
                    std::nullopt};
  }
  template <class Change>
  Result<route::Pod> write(const std::string& name, const std::optional<std::string>& rv,
                           milliseconds timeout, const std::string& resource, Change change) {
    if (auto e = deny("patch", resource, name)) return *e;
    write_timeouts.push_back(timeout);
    ++writes;
    if (before_next_write) std::exchange(before_next_write, nullptr)();
    const auto it = pods.find(name);
    if (it == pods.end())
      return ApiError{ApiErrorKind::not_found, 404, "pods \"" + name + "\" not found", std::nullopt};
    if (rv && *rv != it->second.resource_version) return conflict_error("pods \"" + name + "\"");
    route::Pod updated = it->second;
    change(updated);
    if (!same(updated, it->second)) updated.resource_version = versions_.next();
    it->second = updated;
    return updated;
  }
  static bool same(const route::Pod& a, const route::Pod& b) {
    if (a.labels != b.labels || a.annotations != b.annotations || a.conditions.size() != b.conditions.size())
      return false;
    for (std::size_t i = 0; i < a.conditions.size(); ++i) {
      const auto &x = a.conditions[i], &y = b.conditions[i];
      if (x.type != y.type || x.status != y.status || x.reason != y.reason || x.message != y.message ||
          x.last_probe_time != y.last_probe_time || x.last_transition_time != y.last_transition_time)
        return false;
    }
    return true;
  }
  Versions& versions_;
};

class MemorySlices final : public route::EndpointSliceApi {
 public:
  explicit MemorySlices(Versions& versions) : versions_(versions) {}
  std::map<std::string, route::EndpointSlice> slices;
  std::function<void()> before_next_write;
  int writes = 0;

  Result<route::EndpointSlice> get(const std::string& name, milliseconds) override {
    const auto it = slices.find(name);
    if (it == slices.end()) return ApiError{ApiErrorKind::not_found, 404, "not found", std::nullopt};
    return it->second;
  }
  Result<route::EndpointSlice> create(const route::EndpointSlice& slice, milliseconds) override {
    ++writes;
    if (before_next_write) std::exchange(before_next_write, nullptr)();
    if (slices.count(slice.name))
      return ApiError{ApiErrorKind::already_exists, 409, "already exists", std::nullopt};
    auto stored = slice;
    stored.resource_version = versions_.next();
    return slices[slice.name] = stored;
  }
  Result<route::EndpointSlice> update(const route::EndpointSlice& slice, milliseconds) override {
    ++writes;
    if (before_next_write) std::exchange(before_next_write, nullptr)();
    const auto it = slices.find(slice.name);
    if (it == slices.end()) return ApiError{ApiErrorKind::not_found, 404, "not found", std::nullopt};
    if (slice.resource_version != it->second.resource_version) return conflict_error("endpointslices");
    auto stored = slice;
    const bool same = stored.labels == it->second.labels && stored.annotations == it->second.annotations &&
                      stored.addresses == it->second.addresses && stored.ports == it->second.ports &&
                      stored.target_pod == it->second.target_pod;
    stored.resource_version = same ? it->second.resource_version : versions_.next();
    return it->second = stored;
  }
  std::string namespace_name() const override { return "default"; }
  std::string api_version() const override { return "discovery.k8s.io/v1"; }

 private:
  Versions& versions_;
};

}  // namespace le::testing
