#pragma once
// The routing modes, as `--route` names them (README "Routing modes"). Its own header: config/
// parses the flag into it without depending on the rest of traffic/.
namespace le::traffic {

// proxy writes nothing either: the sidecar's own proxy (sidecar/proxy/) sends each request to the
// leader's app.
enum class ModeKind { readiness, label, endpoints, readiness_gate, proxy };

}  // namespace le::traffic
