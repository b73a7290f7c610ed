#pragma once
// Splits argv into flag uses with Go's flag-package rules (the classic leader-elector image was a
// Go program, so its manifests may write -election=x as well as --election x).
#include <optional>
#include <string>
#include <vector>

#include "config/flags.h"

namespace le::config {

struct FlagUse {
  const FlagSpec* spec = nullptr;
  std::string value;  // "true"/"false" for boolean flags
};

struct ScannedArguments {
  std::vector<FlagUse> uses;         // in command-line order
  std::optional<Setting> action;     // help, version or install_to, if one came before any error
  std::string action_value;          // install_to's PATH
  std::optional<std::string> error;  // names the offending argument
  // Everything after "--": run mode's command and its arguments (empty: no run mode).
  std::vector<std::string> command;
};

// Stops at the first error, or at --help/--version (as Go's flag package stops at -h).
ScannedArguments scan_arguments(const std::vector<std::string>& args);

}  // namespace le::config
