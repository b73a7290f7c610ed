#pragma once
// What routing needs from the API server, as plain values: the Pods of the workload and the
// EndpointSlice of a Service. kube/pod_client and kube/endpoint_slice_client implement these
// against an API server; the unit tests use in-memory ones. Like election::LeaseStore, every call
// is bounded by a timeout the caller chooses, and every failure is a util::ApiError.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace le::traffic {

using std::chrono::milliseconds;
using util::ApiError;
using util::ApiErrorKind;
using util::Result;

struct PodCondition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  std::string last_probe_time;       // RFC 3339, or "" for null
  std::string last_transition_time;  // RFC 3339, or "" for null
};

struct Pod {
  std::string name;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<PodCondition> conditions;

  const PodCondition* condition(const std::string& type) const {
    for (const auto& c : conditions) {
      if (c.type == type) return &c;
    }
    return nullptr;
  }
};

// A change to a Pod's metadata. A label or annotation mapped to nullopt is removed.
// resource_version, when set, is the precondition: the API server refuses the patch with 409
// Conflict if the Pod has changed since it was read.
struct MetadataPatch {
  std::optional<std::string> resource_version;
  std::map<std::string, std::optional<std::string>> labels;
  std::map<std::string, std::optional<std::string>> annotations;
};

class PodApi {
 public:
  virtual ~PodApi() = default;
  virtual Result<Pod> get(const std::string& name, milliseconds timeout) = 0;
  // The Pods matching a label selector ("app=demo,tier=web").
  virtual Result<std::vector<Pod>> list(const std::string& label_selector, milliseconds timeout) = 0;
  // A merge patch of metadata.labels/annotations.
  virtual Result<Pod> patch_metadata(const std::string& name, const MetadataPatch& patch,
                                     milliseconds timeout) = 0;
  // A strategic merge patch of one status condition through pods/status: the conditions list
  // is merged by type, so the kubelet's own conditions (Ready, ContainersReady...) are kept.
  virtual Result<Pod> patch_condition(const std::string& name,
                                      const std::optional<std::string>& resource_version,
                                      const PodCondition& condition, milliseconds timeout) = 0;
  virtual std::string namespace_name() const = 0;
};

struct EndpointPort {
  std::string name;
  int port = 0;
  std::string protocol = "TCP";
  bool operator==(const EndpointPort&) const = default;
};

// The parts of a discovery.k8s.io EndpointSlice routing owns. Everything else on the object
// (other labels, annotations) is kept by the client on update.
struct EndpointSlice {
  std::string name;
  std::string resource_version;  // "" for a slice to create
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> addresses;  // IPs of the one endpoint, or none
  std::string target_pod;              // the endpoint's targetRef Pod, if any
  std::vector<EndpointPort> ports;
  std::string raw_object;  // as read; the update is built on it
};

class EndpointSliceApi {
 public:
  virtual ~EndpointSliceApi() = default;
  // not_found when it does not exist.
  virtual Result<EndpointSlice> get(const std::string& name, milliseconds timeout) = 0;
  virtual Result<EndpointSlice> create(const EndpointSlice& slice, milliseconds timeout) = 0;
  // A PUT conditional on slice.resource_version.
  virtual Result<EndpointSlice> update(const EndpointSlice& slice, milliseconds timeout) = 0;
  virtual std::string namespace_name() const = 0;
  // "discovery.k8s.io/v1" or "discovery.k8s.io/v1beta1", once known.
  virtual std::string api_version() const = 0;
};

}  // namespace le::traffic
