#pragma once
// metadata.managedFields, simplified: one "Update" entry per field manager listing every field the
// object has. The shape matches the samples; the ownership bookkeeping of server-side apply is not
// modelled (nothing in the project reads it).
#include <chrono>
#include <string>
#include <string_view>

#include "json.h"

namespace fake {

// The manager name the real server derives from a User-Agent: the text before the first '/'.
std::string manager_from_user_agent(std::string_view user_agent);

// Sets metadata.managedFields on `object` for a write by `manager`. Keeps the entry's time when its
// field set is unchanged, as the server does (sample 05 keeps the create's time).
void update_managed_fields(Json& object, const Json* old, const std::string& manager,
                           const std::string& api_version, std::chrono::system_clock::time_point now);

}  // namespace fake
