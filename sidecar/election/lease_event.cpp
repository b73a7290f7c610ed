#include "election/lease_event.h"

#include <algorithm>
#include <cctype>

namespace le::election {
namespace {

bool is_decimal(const std::string& text) {
  return !text.empty() && text.size() <= 19 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

std::optional<int> compare_resource_versions(const std::string& a, const std::string& b) {
  if (!is_decimal(a) || !is_decimal(b)) return std::nullopt;
  const auto value_a = std::stoull(a);
  const auto value_b = std::stoull(b);
  return value_a < value_b ? -1 : value_a > value_b ? 1 : 0;
}

}  // namespace le::election
