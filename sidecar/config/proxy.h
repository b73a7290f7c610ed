#pragma once
// --route proxy's flags into Config::proxy: where the proxy listens, the app it sends to, what a
// follower does, whose forwarding headers it believes, its timeouts and its body limit.
#include <optional>
#include <string>

#include "config/config.h"
#include "config/sources.h"

namespace le::config {

// Returns the error message, if any; runs after resolve_routing (it reads the mode and POD_IP). A --proxy-*
// flag without --route proxy is an error: without the mode the proxy would silently not run.
std::optional<std::string> resolve_proxy(const RawSettings& raw, Config& config);

// "0", "1048576", "512Ki", "10Mi", "1Gi" (binary suffixes, as Kubernetes quantities write them).
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

}  // namespace le::config
