#pragma once
// --app-health-url and the settings of its check: parsed and validated into Config::app_health.
#include <optional>
#include <string>

#include "config/config.h"
#include "config/sources.h"

namespace le::config {

// Returns the error message, if any. Settings of the check without --app-health-url are an error,
// not silently ignored.
std::optional<std::string> resolve_app_health(const RawSettings& raw, Config& config);

// --notify-url and --notify-timeout into Config::notify, the same way.
std::optional<std::string> resolve_notify(const RawSettings& raw, Config& config);

}  // namespace le::config
