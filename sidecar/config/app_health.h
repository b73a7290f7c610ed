#pragma once
// The URLs of the app the sidecar calls, parsed and validated: --app-health-url and the settings
// of its check into Config::app_health, --notify-url and its timeout into Config::notify.
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
