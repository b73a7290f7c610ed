#pragma once
// A strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) for the JSON the fake
// stores: maps merge recursively and null deletes a key, as in a JSON merge patch; but a list
// whose Go field declares patchStrategy "merge" with a patchMergeKey (PodStatus.conditions by
// "type", containers by "name", ...) merges item by item on that key, an item carrying
// {"$patch": "delete"} removes its match, and new items are appended; other lists are replaced.
// "$setElementOrder/..." and "$retainKeys" directives are accepted and ignored; a map with
// {"$patch": "replace"} replaces the original map.
#include <map>
#include <string>

#include "json.h"

namespace fake {

// Dotted field paths ("status.conditions", "spec.containers[].env") to their merge key. A list of
// primitives with the "merge" strategy (metadata.finalizers) maps to "".
using MergeKeys = std::map<std::string, std::string>;

Json strategic_merge_patch(const Json& original, const Json& patch, const MergeKeys& keys);

}  // namespace fake
