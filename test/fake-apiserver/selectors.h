#pragma once
// List filters: labelSelector (equality, inequality and existence terms) and fieldSelector
// (metadata.name / metadata.namespace), parsed the way apimachinery's labels/fields packages do.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"

namespace fake {

struct SelectorTerm {
  enum class Op { Equals, NotEquals, Exists, NotExists };
  std::string key;
  Op op = Op::Equals;
  std::string value;
};

class Selector {
 public:
  // nullopt with `error` set when the text is not a selector the fake understands.
  static std::optional<Selector> parse_labels(std::string_view text, std::string& error);
  static std::optional<Selector> parse_fields(std::string_view text, std::string& error);

  bool matches_labels(const Json& object) const;
  bool matches_fields(const Json& object) const;
  // The value of an "key=value" term, e.g. metadata.name for a watch of one object.
  std::optional<std::string> equals_value(const std::string& key) const;

 private:
  std::vector<SelectorTerm> terms_;
};

}  // namespace fake
