#include "traffic/endpoints_mode.h"

#include <utility>

namespace le::traffic {
namespace {

class EndpointsMode final : public TrafficMode {
 public:
  EndpointsMode(EndpointSliceApi& api, EndpointsModeConfig config)
      : api_(api), config_(std::move(config)), slice_name_(slice_name_for(config_.service)) {}

  std::string_view mode() const override { return "endpoints"; }
  std::string role_rules() const override {
    return "{apiGroups: [\"discovery.k8s.io\"], resources: [\"endpointslices\"], verbs: [\"get\", "
           "\"create\", "
           "\"update\"]}";
  }

  Attempt lead(const std::string& term, const WriteGuard& guard,
               const RequestTimeout& read_timeout) override {
    auto got = api_.get(slice_name_, read_timeout());
    if (got.is(ApiErrorKind::not_found)) {
      EndpointSlice fresh;
      fresh.name = slice_name_;
      apply(fresh, term);
      const auto timeout = guard();
      if (!timeout) return Attempt::abandoned(0);
      // A create cannot be conditional; if another leader created it first, this fails with
      // AlreadyExists and the next attempt reads and updates it with its version.
      auto created = api_.create(fresh, *timeout);
      if (!created.ok())
        return Attempt::failed({"create endpointslice " + slice_name_, rule("create"), created.error()}, 1);
      return Attempt::done_after(1);
    }
    if (!got.ok()) return Attempt::failed({"get endpointslice " + slice_name_, rule("get"), got.error()}, 0);
    EndpointSlice slice = std::move(got.value());
    if (current(slice, term)) return Attempt::done_after(0);
    apply(slice, term);
    const auto timeout = guard();
    if (!timeout) return Attempt::abandoned(0);
    auto updated = api_.update(slice, *timeout);
    if (!updated.ok())
      return Attempt::failed({"update endpointslice " + slice_name_, rule("update"), updated.error()}, 1);
    return Attempt::done_after(1);
  }

  Attempt follow(const RequestTimeout& timeout) override {
    auto got = api_.get(slice_name_, timeout());
    if (got.is(ApiErrorKind::not_found)) return Attempt::done_after(0);
    if (!got.ok()) return Attempt::failed({"get endpointslice " + slice_name_, rule("get"), got.error()}, 0);
    EndpointSlice slice = std::move(got.value());
    if (!routes_here(slice)) return Attempt::done_after(0);
    // Conditional too: if a new leader wrote in between, the 409 makes the next attempt read
    // again and find its own endpoint there, which it leaves alone.
    slice.addresses.clear();
    slice.target_pod.clear();
    auto updated = api_.update(slice, timeout());
    if (!updated.ok())
      return Attempt::failed({"update endpointslice " + slice_name_, rule("update"), updated.error()}, 1);
    return Attempt::done_after(1);
  }

 private:
  RbacRule rule(const char* verb) const { return {"discovery.k8s.io", "endpointslices", verb}; }

  // The endpoint is this Pod's: its targetRef names this Pod, and it carries this Pod's IP. The IP
  // alone is not enough: hostNetwork Pods on one node share the node's IP, and a follower there
  // must not remove the leader's endpoint. An endpoint without a targetRef is nobody's to remove;
  // the next leader's write replaces it.
  bool routes_here(const EndpointSlice& slice) const {
    if (slice.target_pod != config_.pod_name) return false;
    for (const auto& address : slice.addresses) {
      if (address == config_.pod_ip) return true;
    }
    return false;
  }
  bool current(const EndpointSlice& slice, const std::string& term) const {
    const auto fenced = slice.annotations.find(kFencedByAnnotation);
    const auto managed = slice.labels.find(kManagedByLabel);
    const auto service = slice.labels.find(kServiceNameLabel);
    return fenced != slice.annotations.end() && fenced->second == term && managed != slice.labels.end() &&
           managed->second == kManagedBy && service != slice.labels.end() &&
           service->second == config_.service &&
           slice.addresses == std::vector<std::string>{config_.pod_ip} &&
           slice.target_pod == config_.pod_name && slice.ports == config_.ports;
  }
  void apply(EndpointSlice& slice, const std::string& term) const {
    slice.labels[kServiceNameLabel] = config_.service;
    slice.labels[kManagedByLabel] = kManagedBy;
    slice.annotations[kFencedByAnnotation] = term;
    slice.addresses = {config_.pod_ip};
    slice.target_pod = config_.pod_name;
    slice.ports = config_.ports;
  }

  EndpointSliceApi& api_;
  EndpointsModeConfig config_;
  std::string slice_name_;
};

}  // namespace

std::string slice_name_for(const std::string& service) { return service + "-lease-elector"; }

std::unique_ptr<TrafficMode> make_endpoints_mode(EndpointSliceApi& api, EndpointsModeConfig config) {
  return std::make_unique<EndpointsMode>(api, std::move(config));
}

}  // namespace le::traffic
