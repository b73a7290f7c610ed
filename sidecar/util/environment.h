#pragma once
// Environment variables behind a function, so that parsing and credential discovery are tested
// with a map instead of the process environment.
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace le::util {

using Environment = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the real process environment; an empty value counts as unset.
Environment process_environment();
Environment map_environment(std::map<std::string, std::string> values);

}  // namespace le::util
