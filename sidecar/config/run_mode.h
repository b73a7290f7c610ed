#pragma once
// Run mode's command (after "--") and its flags, checked against the timing: parsed into
// Config::run.
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/sources.h"

namespace le::config {

// Returns the error message, if any. Run mode's flags without a command, and --app-health-url
// with one, are errors. Call after the timing and the app health are resolved.
std::optional<std::string> resolve_run_mode(const RawSettings& raw, const std::vector<std::string>& command,
                                            Config& config);

}  // namespace le::config
