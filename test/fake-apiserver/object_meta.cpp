#include "object_meta.h"

#include "decode_errors.h"
#include "names.h"

namespace fake {
namespace {

std::string first_char(const Json& v) { return v.dump().substr(0, 1); }

// A labels or annotations map: map[string]string.
bool decode_string_map(const Json& in, const char* json_name, const char* go_field, JsonDecoder decoder,
                       const std::string& iter_path, Json& out, std::string& problem) {
  if (in.is_null()) return true;
  DecodeTypeError error{iter_path + ": v1.ObjectMeta." + go_field, "", "ObjectMeta",
                        std::string("metadata.") + json_name,      "", json_found(in)};
  if (!in.is_object()) {
    error.iter_problem = "ReadMapCB: expect { or n, but found " + first_char(in);
    error.go_type = "map[string]string";
    problem = word(decoder, error);
    return false;
  }
  Json map = Json::object();
  for (const auto& [k, v] : in.items()) {
    if (!v.is_string()) {
      error.iter_problem = "ReadString: expects \" or n, but found " + first_char(v);
      error.go_type = "string";
      error.found = json_found(v);
      problem = word(decoder, error);
      return false;
    }
    map[k] = v;
  }
  // Go's encoding/json writes map keys sorted.
  nlohmann::json sorted = nlohmann::json::parse(map.dump());
  out = Json::parse(sorted.dump());
  return true;
}

}  // namespace

std::string go_quoted(const std::string& s) { return Json(s).dump(); }

std::optional<Json> decode_object_meta(const Json& meta, JsonDecoder decoder, const std::string& kind,
                                       const std::string& iter_path, std::string& problem) {
  Json out = Json::object();
  if (meta.is_null()) return out;
  if (!meta.is_object()) {
    problem = word(decoder, {iter_path, "readObjectStart: expect { or n, but found " + first_char(meta), kind,
                             "metadata", "v1.ObjectMeta", json_found(meta)});
    return std::nullopt;
  }
  static constexpr const char* kStrings[][2] = {{"name", "Name"},
                                                {"generateName", "GenerateName"},
                                                {"namespace", "Namespace"},
                                                {"uid", "UID"},
                                                {"resourceVersion", "ResourceVersion"}};
  for (const auto& [json_name, go_name] : kStrings) {
    const auto it = meta.find(json_name);
    if (it == meta.end() || it->is_null()) continue;
    if (!it->is_string()) {
      problem = word(decoder, {iter_path + ": v1.ObjectMeta." + go_name,
                               "ReadString: expects \" or n, but found " + first_char(*it), "ObjectMeta",
                               std::string("metadata.") + json_name, "string", json_found(*it)});
      return std::nullopt;
    }
    // omitempty: an empty string is the same as absent.
    if (!it->get_ref<const std::string&>().empty()) out[json_name] = *it;
  }
  for (const auto& [json_name, go_name] :
       {std::pair{"labels", "Labels"}, std::pair{"annotations", "Annotations"}}) {
    const auto it = meta.find(json_name);
    if (it == meta.end()) continue;
    Json map;
    if (!decode_string_map(*it, json_name, go_name, decoder, iter_path, map, problem)) return std::nullopt;
    if (map.is_object() && !map.empty()) out[json_name] = std::move(map);
  }
  // Kept verbatim: garbage collection metadata the fake does not interpret.
  for (const char* opaque : {"ownerReferences", "finalizers"}) {
    const auto it = meta.find(opaque);
    if (it != meta.end() && it->is_array() && !it->empty()) out[opaque] = *it;
  }
  return out;
}

void order_object_meta(Json& meta) {
  static constexpr const char* kOrder[] = {"name",
                                           "generateName",
                                           "namespace",
                                           "selfLink",
                                           "uid",
                                           "resourceVersion",
                                           "generation",
                                           "creationTimestamp",
                                           "deletionTimestamp",
                                           "deletionGracePeriodSeconds",
                                           "labels",
                                           "annotations",
                                           "ownerReferences",
                                           "finalizers",
                                           "managedFields"};
  Json ordered = Json::object();
  for (const char* key : kOrder) {
    if (meta.contains(key)) ordered[key] = std::move(meta[key]);
  }
  for (auto& [k, v] : meta.items()) {
    if (!ordered.contains(k)) ordered[k] = std::move(v);
  }
  meta = std::move(ordered);
}

FieldErrors validate_object_meta(const Json& meta, bool namespaced, NameRule name_rule) {
  FieldErrors errors;
  const std::string name = meta.value("name", "");
  const std::string generate_name = meta.value("generateName", "");
  if (name.empty() && generate_name.empty()) {
    errors.push_back(FieldError::required("metadata.name", "name or generateName is required"));
  } else if (!name.empty()) {
    for (const auto& msg : name_rule(name)) {
      errors.push_back(FieldError::invalid("metadata.name", go_quoted(name), msg));
    }
  }
  if (namespaced) {
    const std::string ns = meta.value("namespace", "");
    if (ns.empty()) {
      errors.push_back(FieldError::required("metadata.namespace", ""));
    } else {
      for (const auto& msg : dns1123_label_errors(ns)) {
        errors.push_back(FieldError::invalid("metadata.namespace", go_quoted(ns), msg));
      }
    }
  }
  return errors;
}

FieldErrors validate_object_meta_update(const Json& meta, const Json& old, NameRule name_rule) {
  FieldErrors errors = validate_object_meta(meta, old.contains("namespace"), name_rule);
  for (const char* immutable : {"name", "namespace", "uid"}) {
    const std::string now = meta.value(immutable, "");
    const std::string before = old.value(immutable, "");
    if (now != before) {
      errors.push_back(
          FieldError::invalid(std::string("metadata.") + immutable, go_quoted(now), "field is immutable"));
    }
  }
  return errors;
}

}  // namespace fake
