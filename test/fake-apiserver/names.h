#pragma once
// Object name rules from k8s.io/apimachinery/pkg/util/validation, with the exact messages the API
// server puts into 422 causes.
#include <string>
#include <string_view>
#include <vector>

namespace fake {

// Empty when `name` is a DNS-1123 subdomain (object names: Leases, Pods, ...).
std::vector<std::string> dns1123_subdomain_errors(std::string_view name);
// Empty when `name` is a DNS-1123 label (namespace names).
std::vector<std::string> dns1123_label_errors(std::string_view name);
// Empty when `name` may be a path segment (apimachinery api/validation/path ValidatePathSegmentName,
// not a prefix): not "." or "..", no '/' or '%'. The only rule rest.BeforeCreate's generic metadata
// check puts on an Event's name, whose strategy has no name rule of its own.
std::vector<std::string> path_segment_name_errors(std::string_view name);
// Empty when `name` is a qualified name, [DNS-subdomain prefix/]name as label keys are
// (IsQualifiedName, apimachinery pkg/api/validate/content/kube.go IsLabelKey in 1.37).
std::vector<std::string> qualified_name_errors(std::string_view name);

}  // namespace fake
