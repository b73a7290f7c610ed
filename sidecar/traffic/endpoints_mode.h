#pragma once
// endpoints mode: for a Service without a selector, the leader writes its Pod IP and ports into
// the EndpointSlice `SERVICE-lease-elector` (labels kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by), as Patroni does with Endpoints: one write switches
// traffic. The lock (the Lease) and the route are two objects, so the safety is in the write:
// it is a PUT conditional on the resourceVersion just read, and each term's first write carries
// an annotation unique to the term, so it always bumps the version and fails any write that was
// read before it.
#include <memory>
#include <string>
#include <vector>

#include "traffic/traffic_mode.h"

namespace le::traffic {

inline constexpr const char* kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
inline constexpr const char* kManagedBy = "lease-elector.io";
inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";

struct EndpointsModeConfig {
  std::string service;
  std::string pod_name;
  std::string pod_ip;
  std::vector<EndpointPort> ports;
};

std::string slice_name_for(const std::string& service);

std::unique_ptr<TrafficMode> make_endpoints_mode(EndpointSliceApi& api, EndpointsModeConfig config);

}  // namespace le::traffic
