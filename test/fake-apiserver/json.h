#pragma once
// The API server writes object fields in declaration order (kind, apiVersion, metadata, spec), so
// the fake keeps insertion order too: responses read like the captured samples.
#include <nlohmann/json.hpp>

namespace fake {
using Json = nlohmann::ordered_json;
}  // namespace fake
