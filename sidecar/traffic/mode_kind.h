#pragma once
// The routing modes, as `--route` names them (README "Routing modes"). Its own header: config/
// parses the flag into it without depending on the rest of traffic/.
namespace le::traffic {

enum class ModeKind { readiness, label, endpoints, readiness_gate };

}  // namespace le::traffic
