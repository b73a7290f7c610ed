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

std::optional<Selector> Selector::parse_fields(std::string_view text, std::string& error) {
  Selector s;
  if (trim(text).empty()) return s;
  for (auto part : split_commas(text)) {
    auto term = parse_term(part, false);
    if (!term) {
      error = "invalid selector: '" + std::string(text) + "'; can't understand '" + std::string(part) + "'";
      return std::nullopt;
    }
    if (term->key != "metadata.name" && term->key != "metadata.namespace") {
      // The wording of the registry's field label conversion error.
      error = "\"" + term->key +
              "\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"";
      return std::nullopt;
    }
    s.terms_.push_back(std::move(*term));
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

bool Selector::matches_fields(const Json& object) const {
  const auto& meta = object["metadata"];
  for (const auto& term : terms_) {
    const std::string field = term.key == "metadata.name" ? "name" : "namespace";
    if (!match(term, meta.value(field, ""))) return false;
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
