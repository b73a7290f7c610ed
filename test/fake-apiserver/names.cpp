#include "names.h"

namespace fake {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool is_label(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool is_qualified_name_part(std::string_view s) {
  if (s.empty() || !is_name_char(s.front()) || !is_name_char(s.back())) return false;
  for (char c : s) {
    if (!is_name_char(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

constexpr const char* kQualifiedNameRegexError =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

}  // namespace

std::vector<std::string> qualified_name_errors(std::string_view value) {
  std::vector<std::string> errors;
  std::string_view name = value;
  const auto slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      return {std::string("a valid label key ") + kQualifiedNameRegexError +
              " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"};
    }
    const auto prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errors.emplace_back("prefix part must be non-empty");
    } else {
      for (const auto& e : dns1123_subdomain_errors(prefix)) errors.push_back("prefix part " + e);
    }
  }
  if (name.empty()) {
    errors.emplace_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errors.emplace_back("name part must be no more than 63 characters");
  }
  if (!is_qualified_name_part(name)) errors.push_back(std::string("name part ") + kQualifiedNameRegexError);
  return errors;
}

std::vector<std::string> dns1123_subdomain_errors(std::string_view name) {
  std::vector<std::string> errors;
  if (name.size() > 253) errors.emplace_back("must be no more than 253 characters");
  bool ok = !name.empty();
  std::size_t start = 0;
  while (ok && start <= name.size()) {
    const auto dot = name.find('.', start);
    const auto part =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    ok = is_label(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!ok) {
    errors.emplace_back(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
        "must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  return errors;
}

std::vector<std::string> path_segment_name_errors(std::string_view name) {
  // IsValidPathSegmentName: an exact bad name is the only error; else one per bad substring.
  for (const char* illegal : {".", ".."}) {
    if (name == illegal) return {std::string("may not be '") + illegal + "'"};
  }
  std::vector<std::string> errors;
  for (const char* illegal : {"/", "%"}) {
    if (name.find(illegal) != std::string_view::npos)
      errors.push_back(std::string("may not contain '") + illegal + "'");
  }
  return errors;
}

std::vector<std::string> dns1123_label_errors(std::string_view name) {
  std::vector<std::string> errors;
  if (name.size() > 63) errors.emplace_back("must be no more than 63 characters");
  if (!is_label(name)) {
    // The double space is in the upstream message.
    errors.emplace_back(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
        "start and "
        "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  }
  return errors;
}

}  // namespace fake
