#include "strategic_merge.h"

#include <algorithm>

namespace fake {
namespace {

bool is_directive(const std::string& key) {
  return key.rfind("$setElementOrder/", 0) == 0 || key == "$retainKeys" ||
         key.rfind("$deleteFromPrimitiveList/", 0) == 0;
}

Json merge_value(const Json& original, const Json& patch, const std::string& path, const MergeKeys& keys);

Json merge_map(const Json& original, const Json& patch, const std::string& path, const MergeKeys& keys) {
  if (patch.contains("$patch") && patch["$patch"] == "replace") {
    Json replaced = patch;
    replaced.erase("$patch");
    return replaced;
  }
  Json out = original.is_object() ? original : Json::object();
  for (const auto& [key, value] : patch.items()) {
    if (is_directive(key) || key == "$patch") continue;
    if (value.is_null()) {
      out.erase(key);
      continue;
    }
    const std::string child = path.empty() ? key : path + "." + key;
    out[key] = merge_value(out.contains(key) ? out[key] : Json(), value, child, keys);
  }
  return out;
}

Json merge_list(const Json& original, const Json& patch, const std::string& path, const std::string& key,
                const MergeKeys& keys) {
  Json out = original.is_array() ? original : Json::array();
  if (key.empty()) {
    // A merged list of primitives: a set union, in order.
    for (const auto& item : patch) {
      if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    }
    return out;
  }
  for (const auto& item : patch) {
    if (!item.is_object() || !item.contains(key)) {
      out.push_back(item);
      continue;
    }
    const auto match = std::find_if(out.begin(), out.end(), [&](const Json& existing) {
      return existing.is_object() && existing.contains(key) && existing[key] == item[key];
    });
    const bool remove = item.contains("$patch") && item["$patch"] == "delete";
    if (remove) {
      if (match != out.end()) out.erase(match);
    } else if (match != out.end()) {
      *match = merge_map(*match, item, path + "[]", keys);
    } else {
      Json added = merge_map(Json::object(), item, path + "[]", keys);
      out.push_back(std::move(added));
    }
  }
  return out;
}

Json merge_value(const Json& original, const Json& patch, const std::string& path, const MergeKeys& keys) {
  if (patch.is_object()) return merge_map(original, patch, path, keys);
  if (patch.is_array()) {
    if (const auto it = keys.find(path); it != keys.end())
      return merge_list(original, patch, path, it->second, keys);
  }
  return patch;
}

}  // namespace

Json strategic_merge_patch(const Json& original, const Json& patch, const MergeKeys& keys) {
  return merge_map(original, patch, "", keys);
}

}  // namespace fake
