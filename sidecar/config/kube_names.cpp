#include "config/kube_names.h"

namespace le::config {
namespace {

bool is_lower_alphanumeric(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One dot-free part: [a-z0-9]([-a-z0-9]*[a-z0-9])?, with no length limit of its own.
bool is_label_shape(std::string_view part) {
  if (part.empty() || !is_lower_alphanumeric(part.front()) || !is_lower_alphanumeric(part.back())) {
    return false;
  }
  for (char c : part) {
    if (!is_lower_alphanumeric(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool is_dns1123_label(std::string_view name) { return name.size() <= 63 && is_label_shape(name); }

bool is_dns1123_subdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  while (true) {
    const auto dot = name.find('.');
    if (!is_label_shape(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

}  // namespace le::config
