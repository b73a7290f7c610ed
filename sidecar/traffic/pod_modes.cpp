#include "traffic/pod_modes.h"

#include <utility>

namespace le::traffic {
namespace {

// The algorithm both Pod modes share; the subclasses say what "marked" and "fenced" mean.
class PodMode : public TrafficMode {
 public:
  PodMode(PodApi& api, PodModeConfig config) : api_(api), config_(std::move(config)) {}

  Attempt lead(const std::string& term, const WriteGuard& guard,
               const RequestTimeout& read_timeout) override {
    auto pods = api_.list(config_.pod_selector, read_timeout());
    if (!pods.ok()) {
      return Attempt::failed(
          {"list pods with labels " + config_.pod_selector, {"", "pods", "list"}, pods.error()}, 0);
    }
    int writes = 0;
    const Pod* own = nullptr;
    // Every other Pod first, each write conditional on the version just listed: if the Pod
    // changed since (a deposed leader's late write landed), the 409 makes the next attempt list
    // it again instead of writing blind.
    for (const Pod& pod : pods.value()) {
      if (pod.name == config_.pod_name) {
        own = &pod;
        continue;
      }
      if (fenced(pod, term)) continue;
      const auto timeout = guard();
      if (!timeout) return Attempt::abandoned(writes);
      ++writes;
      auto fenced_pod = fence(pod, term, *timeout);
      if (!fenced_pod.ok())
        return Attempt::failed({"fence pod " + pod.name, write_rule(), fenced_pod.error()}, writes);
    }
    Pod read;
    if (!own) {
      // This Pod does not carry the selector's labels (or the list lagged): read it by name, unless
      // the term is over already: no write could follow, and the read would only delay the next
      // term, or the exit.
      if (!guard()) return Attempt::abandoned(writes);
      auto got = api_.get(config_.pod_name, read_timeout());
      if (!got.ok())
        return Attempt::failed({"get pod " + config_.pod_name, {"", "pods", "get"}, got.error()}, writes);
      read = std::move(got.value());
      own = &read;
    }
    if (routes(*own)) return Attempt::done_after(writes);
    // Read, check, write: the guard runs after the read, and the write carries the read's
    // resourceVersion, so a fence by a newer leader between the two makes it fail.
    const auto timeout = guard();
    if (!timeout) return Attempt::abandoned(writes);
    ++writes;
    auto marked = mark(*own, term, *timeout);
    if (!marked.ok()) return Attempt::failed({"mark pod " + own->name, write_rule(), marked.error()}, writes);
    return Attempt::done_after(writes);
  }

  Attempt follow(const RequestTimeout& timeout) override {
    auto own = api_.get(config_.pod_name, timeout());
    if (own.is(ApiErrorKind::not_found)) return Attempt::done_after(0);
    if (!own.ok())
      return Attempt::failed({"get pod " + config_.pod_name, {"", "pods", "get"}, own.error()}, 0);
    if (!marked_at_all(own.value())) return Attempt::done_after(0);
    auto cleared = unmark(own.value(), timeout());
    if (!cleared.ok())
      return Attempt::failed({"unmark pod " + config_.pod_name, write_rule(), cleared.error()}, 1);
    return Attempt::done_after(1);
  }

 protected:
  // Traffic goes to this Pod.
  virtual bool routes(const Pod& pod) const = 0;
  // Carries any trace of the mark (a stray to clear even if it does not route).
  virtual bool marked_at_all(const Pod& pod) const = 0;
  // Unmarked, and fenced in this term already.
  virtual bool fenced(const Pod& pod, const std::string& term) const = 0;
  virtual Result<Pod> fence(const Pod& pod, const std::string& term, milliseconds timeout) = 0;
  virtual Result<Pod> mark(const Pod& pod, const std::string& term, milliseconds timeout) = 0;
  virtual Result<Pod> unmark(const Pod& pod, milliseconds timeout) = 0;
  virtual RbacRule write_rule() const = 0;

  PodApi& api_;
  PodModeConfig config_;
};

class LabelMode final : public PodMode {
 public:
  LabelMode(PodApi& api, PodModeConfig config, std::string key, std::string value)
      : PodMode(api, std::move(config)), key_(std::move(key)), value_(std::move(value)) {}

  std::string_view mode() const override { return "label"; }
  std::string role_rules() const override {
    return "{apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"list\", \"patch\"]}";
  }

 private:
  bool routes(const Pod& pod) const override {
    const auto it = pod.labels.find(key_);
    return it != pod.labels.end() && it->second == value_;
  }
  bool marked_at_all(const Pod& pod) const override { return pod.labels.count(key_) > 0; }
  bool fenced(const Pod& pod, const std::string& term) const override {
    const auto it = pod.annotations.find(kFencedByAnnotation);
    return !marked_at_all(pod) && it != pod.annotations.end() && it->second == term;
  }
  // The annotation is new in every term, so this write always bumps the Pod's resourceVersion,
  // even when the label is already gone.
  Result<Pod> fence(const Pod& pod, const std::string& term, milliseconds timeout) override {
    MetadataPatch patch;
    patch.resource_version = pod.resource_version;
    patch.labels[key_] = std::nullopt;
    patch.annotations[kFencedByAnnotation] = term;
    return api_.patch_metadata(pod.name, patch, timeout);
  }
  Result<Pod> mark(const Pod& pod, const std::string&, milliseconds timeout) override {
    MetadataPatch patch;
    patch.resource_version = pod.resource_version;
    patch.labels[key_] = value_;
    return api_.patch_metadata(pod.name, patch, timeout);
  }
  Result<Pod> unmark(const Pod& pod, milliseconds timeout) override {
    MetadataPatch patch;
    patch.resource_version = pod.resource_version;
    patch.labels[key_] = std::nullopt;
    return api_.patch_metadata(pod.name, patch, timeout);
  }
  RbacRule write_rule() const override { return {"", "pods", "patch"}; }

  std::string key_;
  std::string value_;
};

class GateMode final : public PodMode {
 public:
  GateMode(PodApi& api, PodModeConfig config, std::string type, std::function<std::string()> now)
      : PodMode(api, std::move(config)), type_(std::move(type)), now_(std::move(now)) {}

  std::string_view mode() const override { return "readiness-gate"; }
  std::string role_rules() const override {
    return "{apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"list\"]} and "
           "{apiGroups: [\"\"], resources: [\"pods/status\"], verbs: [\"patch\"]}";
  }

 private:
  bool routes(const Pod& pod) const override {
    const auto* c = pod.condition(type_);
    return c && c->status == "True";
  }
  bool marked_at_all(const Pod& pod) const override {
    const auto* c = pod.condition(type_);
    return c && c->status != "False";
  }
  bool fenced(const Pod& pod, const std::string& term) const override {
    const auto* c = pod.condition(type_);
    return c && c->status == "False" && c->message == fence_message(term);
  }
  static std::string fence_message(const std::string& term) { return "fenced by " + term; }

  // The kubelet keeps conditions it does not own, so the new leader must write False itself. The
  // fresh lastProbeTime and the term in the message make every such write a change, so it bumps
  // the resourceVersion (the API server skips a write that changes nothing).
  Result<Pod> write(const Pod& pod, bool status, std::string reason, std::string message,
                    milliseconds timeout) {
    const std::string now = now_();
    PodCondition condition;
    condition.type = type_;
    condition.status = status ? "True" : "False";
    condition.reason = std::move(reason);
    condition.message = std::move(message);
    condition.last_probe_time = now;
    const auto* old = pod.condition(type_);
    condition.last_transition_time =
        old && old->status == condition.status && !old->last_transition_time.empty()
            ? old->last_transition_time
            : now;
    return api_.patch_condition(pod.name, pod.resource_version, condition, timeout);
  }
  Result<Pod> fence(const Pod& pod, const std::string& term, milliseconds timeout) override {
    return write(pod, false, "LeaseElectorFenced", fence_message(term), timeout);
  }
  Result<Pod> mark(const Pod& pod, const std::string& term, milliseconds timeout) override {
    return write(pod, true, "LeaseElectorLeader", "leader in term " + term, timeout);
  }
  Result<Pod> unmark(const Pod& pod, milliseconds timeout) override {
    return write(pod, false, "LeaseElectorNotLeader", "not the leader", timeout);
  }
  RbacRule write_rule() const override { return {"", "pods/status", "patch"}; }

  std::string type_;
  std::function<std::string()> now_;
};

}  // namespace

std::unique_ptr<TrafficMode> make_label_mode(PodApi& api, PodModeConfig config, std::string label_key,
                                             std::string label_value) {
  return std::make_unique<LabelMode>(api, std::move(config), std::move(label_key), std::move(label_value));
}

std::unique_ptr<TrafficMode> make_gate_mode(PodApi& api, PodModeConfig config, std::string condition_type,
                                            std::function<std::string()> now_rfc3339) {
  return std::make_unique<GateMode>(api, std::move(config), std::move(condition_type),
                                    std::move(now_rfc3339));
}

}  // namespace le::traffic
