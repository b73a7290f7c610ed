#pragma once
// List filters: labelSelector (equality, inequality and existence terms) and fieldSelector
// (equality and inequality terms on the field labels the resource supports), parsed the way
// apimachinery's labels/fields packages do.
#include <functional>
#include <map>
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

// The field labels one resource's fieldSelector takes and how each is read from a stored object:
// the scheme's field label conversion for the kind (which labels; the 400 for any other) and the
// registry's GetAttrs (the values; a field the object lacks reads as "", as in a fields.Set).
class FieldLabels {
 public:
  using Reader = std::function<std::string(const Json& object)>;

  // runtime.DefaultMetaV1FieldSelectorConversion, for a kind without a conversion func of its own
  // (Leases, EndpointSlices; the fake's Pods too, though a real server's Pods take spec.nodeName,
  // status.phase, ... and refuse others as "field label not supported"): metadata.name and
  // metadata.namespace, anything else refused as
  // "\"spec.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".
  static const FieldLabels& metadata_only();
  // A kind registered with scheme.AddFieldLabelConversionFunc (core/v1 Event, Pod, Secret, ...):
  // exactly the labels given, anything else refused as "field label not supported: spec.x".
  static FieldLabels converted(std::map<std::string, Reader> labels);
  // Reads the string at a dotted JSON path ("involvedObject.uid"); "" when absent or not a string.
  static Reader at(std::string path);

  // The conversion's error for a label it does not take; nullopt for a supported one.
  std::optional<std::string> refuse(const std::string& label) const;
  std::string value(const Json& object, const std::string& label) const;

 private:
  std::map<std::string, Reader> readers_;
  bool default_conversion_ = true;
};

class Selector {
 public:
  // nullopt with `error` set when the text is not a selector the fake understands.
  static std::optional<Selector> parse_labels(std::string_view text, std::string& error);
  // fields.ParseSelector, then each label through the resource's conversion (`labels`); both
  // failures are the list's or watch's 400 BadRequest.
  static std::optional<Selector> parse_fields(std::string_view text, std::string& error,
                                              const FieldLabels& labels = FieldLabels::metadata_only());

  bool matches_labels(const Json& object) const;
  // `labels` must be the ones the selector was parsed with.
  bool matches_fields(const Json& object, const FieldLabels& labels = FieldLabels::metadata_only()) const;
  // The value of an "key=value" term, e.g. metadata.name for a watch of one object.
  std::optional<std::string> equals_value(const std::string& key) const;

 private:
  std::vector<SelectorTerm> terms_;
};

}  // namespace fake
