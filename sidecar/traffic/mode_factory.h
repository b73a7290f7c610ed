#pragma once
// Builds the routing mode the command line chose, with the API clients it writes through. The
// clients come from factories, so traffic/ stays free of kube/ (which implements PodApi and
// EndpointSliceApi on top of traffic/).
#include <functional>
#include <memory>
#include <string>

#include "election/clock.h"
#include "traffic/endpoints_mode.h"
#include "traffic/mode_kind.h"
#include "traffic/pod_modes.h"
#include "traffic/traffic_mode.h"

namespace le::traffic {

struct ModeSettings {
  ModeKind kind = ModeKind::readiness;
  PodModeConfig pods;     // label and readiness-gate
  std::string label_key;  // label: key=value on the leader's Pod
  std::string label_value;
  std::string readiness_gate;     // readiness-gate: the condition type
  EndpointsModeConfig endpoints;  // endpoints
};

struct ApiFactories {
  std::function<std::unique_ptr<PodApi>()> pods;
  std::function<std::unique_ptr<EndpointSliceApi>()> slices;
};

// A mode and the clients it uses, which live as long as it does. `mode` is empty in readiness mode:
// there the HTTP side's /readyz is the route, and nothing is written.
struct ModeParts {
  std::unique_ptr<PodApi> pods;
  std::unique_ptr<EndpointSliceApi> slices;
  std::unique_ptr<TrafficMode> mode;
};

// `clock` gives the readiness gate's lastProbeTime; it must outlive the mode.
ModeParts make_mode(ModeSettings settings, const ApiFactories& apis, const election::Clock& clock);

}  // namespace le::traffic
