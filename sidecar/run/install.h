#pragma once
// --install-to PATH: run mode's init container copies the static binary into a volume the app's
// container mounts, so run mode needs no change to the app's image (chart: runMode.enabled).
#include <optional>
#include <string>

namespace le::run {

// Copies this process's executable to `path` (mode 0755), atomically: written beside it under a
// temporary name, synced, then renamed over it. Returns the error, if any.
std::optional<std::string> install_self(const std::string& path);

}  // namespace le::run
