#pragma once
// The two modes that mark a Pod: `label` (a label the Service selects) and `readiness-gate` (a
// Pod condition listed in spec.readinessGates). Both fence the other Pods of the workload, found
// by the workload's label selector (not from the Lease, whose holder is "" after a release),
// before marking their own.
#include <memory>
#include <string>

#include "traffic/traffic_mode.h"

namespace le::traffic {

struct PodModeConfig {
  std::string pod_name;      // this replica's Pod (POD_NAME)
  std::string pod_selector;  // the workload's labels, "app=demo"
};

// label mode: `key=value` on the leader's Pod only.
std::unique_ptr<TrafficMode> make_label_mode(PodApi& api, PodModeConfig config, std::string label_key,
                                             std::string label_value);

// readiness-gate mode: condition `type` True on the leader's Pod only. `now_rfc3339` gives the
// fresh lastProbeTime each write carries.
std::unique_ptr<TrafficMode> make_gate_mode(PodApi& api, PodModeConfig config, std::string condition_type,
                                            std::function<std::string()> now_rfc3339);

}  // namespace le::traffic
