#pragma once
// The four timing settings: Go-duration syntax, each one's range, and the relations client-go's
// NewLeaderElector enforces between them.
#include <optional>
#include <string>

#include "config/config.h"
#include "config/sources.h"

namespace le::config {

// Fills the timing fields of `config` from `raw` (or from --ttl); returns the error message, if any.
std::optional<std::string> resolve_timing(const RawSettings& raw, Config& config);

}  // namespace le::config
