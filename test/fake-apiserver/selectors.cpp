#include "selectors.h"

namespace fake {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    parts.push_back(
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

std::optional<SelectorTerm> parse_term(std::string_view part, bool allow_existence) {
  SelectorTerm term;
  std::size_t op_at = std::string_view::npos;
  std::size_t op_len = 0;
  if (auto p = part.find("!="); p != std::string_view::npos) {
    term.op = SelectorTerm::Op::NotEquals;
    op_at = p;
    op_len = 2;
  } else if (auto q = part.find("=="); q != std::string_view::npos) {
    op_at = q;
    op_len = 2;
  } else if (auto r = part.find('='); r != std::string_view::npos) {
    op_at = r;
    op_len = 1;
  }
  if (op_at == std::string_view::npos) {
    if (!allow_existence) return std::nullopt;
    std::string key = trim(part);
    term.op = SelectorTerm::Op::Exists;
    if (!key.empty() && key.front() == '!') {
      term.op = SelectorTerm::Op::NotExists;
      key = trim(std::string_view(key).substr(1));
    }
    if (key.empty()) return std::nullopt;
    term.key = key;
    return term;
  }
  term.key = trim(part.substr(0, op_at));
  term.value = trim(part.substr(op_at + op_len));
  if (term.key.empty()) return std::nullopt;
  return term;
}

bool match(const SelectorTerm& term, const std::optional<std::string>& actual) {
  switch (term.op) {
    case SelectorTerm::Op::Equals:
      return actual && *actual == term.value;
    case SelectorTerm::Op::NotEquals:
      return !actual || *actual != term.value;
    case SelectorTerm::Op::Exists:
      return actual.has_value();
    case SelectorTerm::Op::NotExists:
      return !actual.has_value();
  }
  return false;
}

}  // namespace

const FieldLabels& FieldLabels::metadata_only() {
  static const FieldLabels labels = [] {
    FieldLabels l;
    l.readers_ = {{"metadata.name", at("metadata.name")}, {"metadata.namespace", at("metadata.namespace")}};
    return l;
  }();
  return labels;
}

FieldLabels FieldLabels::converted(std::map<std::string, Reader> labels) {
  FieldLabels l;
  l.readers_ = std::move(labels);
  l.default_conversion_ = false;
  return l;
}

FieldLabels::Reader FieldLabels::at(std::string path) {
  return [path = std::move(path)](const Json& object) -> std::string {
    const Json* v = &object;
    std::size_t start = 0;
    while (true) {
      const auto dot = path.find('.', start);
      const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!v->is_object() || !v->contains(key)) return "";
      v = &(*v)[key];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return v->is_string() ? v->get<std::string>() : "";
  };
}

std::optional<std::string> FieldLabels::refuse(const std::string& label) const {
  if (readers_.count(label)) return std::nullopt;
  // The conversion funcs' fmt.Errorf texts (apimachinery runtime/conversion.go; the kinds' own in
  // pkg/apis/core/v1/conversion.go).
  if (default_conversion_)
    return "\"" + label + "\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"";
  return "field label not supported: " + label;
}

std::string FieldLabels::value(const Json& object, const std::string& label) const {
  const auto it = readers_.find(label);
  return it == readers_.end() ? std::string() : it->second(object);
}

std::optional<Selector> Selector::parse_labels(std::string_view text, std::string& error) {
  Selector s;
  if (trim(text).empty()) return s;
  for (auto part : split_commas(text)) {
    auto term = parse_term(part, true);
    if (!term || term->key.find_first_of("()") != std::string::npos) {
      error = "unable to parse requirement: found '" + std::string(part) + "', expected: identifier";
      return std::nullopt;
    }
    s.terms_.push_back(std::move(*term));
  }
  return s;
}

std::optional<Selector> Selector::parse_fields(std::string_view text, std::string& error,
                                               const FieldLabels& labels) {
  Selector s;
  if (trim(text).empty()) return s;
  for (auto part : split_commas(text)) {
    auto term = parse_term(part, false);
    if (!term) {
      error = "invalid selector: '" + std::string(text) + "'; can't understand '" + std::string(part) + "'";
      return std::nullopt;
    }
    s.terms_.push_back(std::move(*term));
  }
  // handlers/get.go: the parsed selector's Transform through scheme.ConvertFieldLabel, term by
  // term in order; the first refusal is the 400's message as it is.
  for (const auto& term : s.terms_) {
    if (auto refused = labels.refuse(term.key)) {
      error = std::move(*refused);
      return std::nullopt;
    }
  }
  return s;
}

bool Selector::matches_labels(const Json& object) const {
  const auto& meta = object["metadata"];
  for (const auto& term : terms_) {
    std::optional<std::string> actual;
    if (meta.contains("labels") && meta["labels"].contains(term.key))
      actual = meta["labels"][term.key].get<std::string>();
    if (!match(term, actual)) return false;
  }
  return true;
}

bool Selector::matches_fields(const Json& object, const FieldLabels& labels) const {
  for (const auto& term : terms_) {
    if (!match(term, labels.value(object, term.key))) return false;
  }
  return true;
}

std::optional<std::string> Selector::equals_value(const std::string& key) const {
  for (const auto& term : terms_) {
    if (term.key == key && term.op == SelectorTerm::Op::Equals) return term.value;
  }
  return std::nullopt;
}

}  // namespace fake
