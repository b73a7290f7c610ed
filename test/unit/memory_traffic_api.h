#pragma once
// In-memory Pods and EndpointSlices for the routing tests, strict where the API server is:
// a resourceVersion precondition that does not match is 409 Conflict, a write that changes nothing
// keeps the resourceVersion, conditions merge by type (strategic merge patch), and RBAC can deny
// a verb with 403. Hooks let a test run another replica's steps "while a request is in flight" (a
// read that lasts a whole election term, a write sent and not yet applied), and hold a write that
// the server applies only later (a request stuck in a queue after its client gave up).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "traffic/traffic_api.h"

namespace le::testing {

using traffic::ApiError;
using traffic::ApiErrorKind;
using traffic::milliseconds;
using traffic::Result;

inline ApiError timeout_error() {
  return ApiError{ApiErrorKind::timeout, 0, "no answer before the request timeout", std::nullopt};
}

// What the API client does before sending, and how long the request lasts. As CurlTransport, a
// request with no time left fails at once and never reaches the server. Otherwise `on_request`, if
// set, sees the request's timeout (a test advances its clock by it: a slow server) and may answer
// for the server with an error (the request timed out).
using RequestHook = std::function<std::optional<ApiError>(milliseconds timeout)>;
inline std::optional<ApiError> begin_request(const RequestHook& on_request, milliseconds timeout) {
  if (timeout <= milliseconds::zero())
    return ApiError{ApiErrorKind::timeout, 0, "no time left for the request", std::nullopt};
  if (on_request) return on_request(timeout);
  return std::nullopt;
}

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

class MemoryPods final : public traffic::PodApi {
 public:
  explicit MemoryPods(Versions& versions) : versions_(versions) {}

  std::map<std::string, traffic::Pod> pods;
  std::set<std::string> denied;  // "patch pods", "list pods", "patch pods/status"
  std::vector<milliseconds> write_timeouts;
  int writes = 0;
  // Runs once, just before the next write is applied (the request is "in flight").
  std::function<void()> before_next_write;
  // Runs once while the next read (get or list) is in flight; the answer is what the server holds
  // when it returns (the server served the read late).
  std::function<void()> during_next_read;
  // The next write to this Pod is held: its sender gets a timeout, and the server applies it (with
  // its resourceVersion precondition) only at land_held_write().
  std::optional<std::string> hold_next_write_to;
  RequestHook on_request;

  // Applies the held write now; returns whether the server accepted it (false on a 409).
  bool land_held_write() {
    if (!held_write_) throw std::logic_error("no pod write is held");
    return std::exchange(held_write_, nullptr)();
  }

  void add(const std::string& name, std::map<std::string, std::string> labels) {
    traffic::Pod pod;
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

  Result<traffic::Pod> get(const std::string& name, milliseconds timeout) override {
    if (auto e = begin_request(on_request, timeout)) return *e;
    if (auto e = deny("get", "pods", name)) return *e;
    if (during_next_read) std::exchange(during_next_read, nullptr)();
    const auto it = pods.find(name);
    if (it == pods.end())
      return ApiError{ApiErrorKind::not_found, 404, "pods \"" + name + "\" not found", std::nullopt};
    return it->second;
  }
  Result<std::vector<traffic::Pod>> list(const std::string& selector, milliseconds timeout) override {
    if (auto e = begin_request(on_request, timeout)) return *e;
    if (auto e = deny("list", "pods", "")) return *e;
    if (during_next_read) std::exchange(during_next_read, nullptr)();
    std::vector<traffic::Pod> out;
    for (const auto& [name, pod] : pods) {
      if (matches(pod, selector)) out.push_back(pod);
    }
    return out;
  }
  Result<traffic::Pod> patch_metadata(const std::string& name, const traffic::MetadataPatch& patch,
                                      milliseconds timeout) override {
    return write(name, patch.resource_version, timeout, "pods", [patch](traffic::Pod& pod) {
      for (const auto& [k, v] : patch.labels) v ? void(pod.labels[k] = *v) : void(pod.labels.erase(k));
      for (const auto& [k, v] : patch.annotations)
        v ? void(pod.annotations[k] = *v) : void(pod.annotations.erase(k));
    });
  }
  Result<traffic::Pod> patch_condition(const std::string& name, const std::optional<std::string>& rv,
                                       const traffic::PodCondition& condition,
                                       milliseconds timeout) override {
    return write(name, rv, timeout, "pods/status", [condition](traffic::Pod& pod) {
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
  static bool matches(const traffic::Pod& pod, const std::string& selector) {
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
  Result<traffic::Pod> write(const std::string& name, const std::optional<std::string>& rv,
                             milliseconds timeout, const std::string& resource, Change change) {
    if (auto e = begin_request(on_request, timeout)) return *e;
    if (auto e = deny("patch", resource, name)) return *e;
    write_timeouts.push_back(timeout);
    ++writes;
    if (before_next_write) std::exchange(before_next_write, nullptr)();
    if (hold_next_write_to == name) {
      hold_next_write_to.reset();
      held_write_ = [this, name, rv, change] { return apply(name, rv, change).ok(); };
      return timeout_error();
    }
    return apply(name, rv, change);
  }
  template <class Change>
  Result<traffic::Pod> apply(const std::string& name, const std::optional<std::string>& rv, Change change) {
    const auto it = pods.find(name);
    if (it == pods.end())
      return ApiError{ApiErrorKind::not_found, 404, "pods \"" + name + "\" not found", std::nullopt};
    if (rv && *rv != it->second.resource_version) return conflict_error("pods \"" + name + "\"");
    traffic::Pod updated = it->second;
    change(updated);
    if (same(updated, it->second)) return updated;
    updated.resource_version = versions_.next();
    it->second = updated;
    return updated;
  }
  static bool same(const traffic::Pod& a, const traffic::Pod& b) {
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
  std::function<bool()> held_write_;
};

class MemorySlices final : public traffic::EndpointSliceApi {
 public:
  explicit MemorySlices(Versions& versions) : versions_(versions) {}
  std::map<std::string, traffic::EndpointSlice> slices;
  std::function<void()> before_next_write;
  // As MemoryPods': a hook inside the next read, and the next write held until land_held_write().
  std::function<void()> during_next_read;
  bool hold_next_write = false;
  RequestHook on_request;
  int writes = 0;

  bool land_held_write() {
    if (!held_write_) throw std::logic_error("no endpointslice write is held");
    return std::exchange(held_write_, nullptr)();
  }

  Result<traffic::EndpointSlice> get(const std::string& name, milliseconds timeout) override {
    if (auto e = begin_request(on_request, timeout)) return *e;
    if (during_next_read) std::exchange(during_next_read, nullptr)();
    const auto it = slices.find(name);
    if (it == slices.end()) return ApiError{ApiErrorKind::not_found, 404, "not found", std::nullopt};
    return it->second;
  }
  Result<traffic::EndpointSlice> create(const traffic::EndpointSlice& slice, milliseconds timeout) override {
    if (auto e = begin_request(on_request, timeout)) return *e;
    ++writes;
    if (before_next_write) std::exchange(before_next_write, nullptr)();
    if (hold(slice, &MemorySlices::apply_create)) return timeout_error();
    return apply_create(slice);
  }
  Result<traffic::EndpointSlice> update(const traffic::EndpointSlice& slice, milliseconds timeout) override {
    if (auto e = begin_request(on_request, timeout)) return *e;
    ++writes;
    if (before_next_write) std::exchange(before_next_write, nullptr)();
    if (hold(slice, &MemorySlices::apply_update)) return timeout_error();
    return apply_update(slice);
  }
  std::string namespace_name() const override { return "default"; }
  std::string api_version() const override { return "discovery.k8s.io/v1"; }

 private:
  using Apply = Result<traffic::EndpointSlice> (MemorySlices::*)(const traffic::EndpointSlice&);
  bool hold(const traffic::EndpointSlice& slice, Apply apply) {
    if (!std::exchange(hold_next_write, false)) return false;
    held_write_ = [this, slice, apply] { return (this->*apply)(slice).ok(); };
    return true;
  }
  Result<traffic::EndpointSlice> apply_create(const traffic::EndpointSlice& slice) {
    if (slices.count(slice.name))
      return ApiError{ApiErrorKind::already_exists, 409, "already exists", std::nullopt};
    auto stored = slice;
    stored.resource_version = versions_.next();
    return slices[slice.name] = stored;
  }
  Result<traffic::EndpointSlice> apply_update(const traffic::EndpointSlice& slice) {
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

  Versions& versions_;
  std::function<bool()> held_write_;
};

}  // namespace le::testing
