#pragma once
// Kubernetes object-name rules, checked at startup because the API server would reject a bad
// Lease name or namespace on the first request anyway, and a clear exit 2 beats a retry loop.
#include <string_view>

namespace le::config {

// RFC 1123 label as Kubernetes validates it (IsDNS1123Label): at most 63 characters of lowercase
// alphanumerics and '-', starting and ending with an alphanumeric. Namespaces are labels.
bool is_dns1123_label(std::string_view name);

// RFC 1123 subdomain (IsDNS1123Subdomain): at most 253 characters, dot-separated parts that each
// start and end with a lowercase alphanumeric. Lease names are subdomains.
bool is_dns1123_subdomain(std::string_view name);

}  // namespace le::config
