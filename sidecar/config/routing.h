#pragma once
// The routing settings (--route and the flags each mode needs), checked at startup so a wrong
// value exits 2 naming the flag instead of failing on every request.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/sources.h"

namespace le::config {

// Fills the routing fields of `config`; POD_NAME and POD_IP come from `env` (the Downward API).
// Returns the error message, if any; settings that the chosen mode ignores add a note.
std::optional<std::string> resolve_routing(const RawSettings& raw, const util::Environment& env,
                                           Config& config, std::vector<std::string>& notes);

// Kubernetes' label rules (apimachinery validation IsQualifiedName / IsValidLabelValue): a key
// is [prefix/]name, the prefix a DNS subdomain, the name at most 63 characters of alphanumerics,
// '-', '_' and '.', starting and ending with an alphanumeric. A value is such a name, or empty.
bool is_qualified_name(std::string_view key);
bool is_label_value(std::string_view value);

// An equality-based label selector: comma-separated key=value, key==value, key!=value, key, !key.
// Returns the problem, if any.
std::optional<std::string> check_label_selector(std::string_view selector);

}  // namespace le::config
