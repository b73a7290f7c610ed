#include "managed_fields.h"

#include "micro_time.h"

namespace fake {
namespace {

// FieldsV1 for a map-valued or leaf-valued part of the object; keys come out sorted, as the
// structured-merge-diff serializer writes them.
nlohmann::json fields_of(const Json& value) {
  nlohmann::json out = nlohmann::json::object();
  if (!value.is_object()) return out;
  for (const auto& [k, v] : value.items()) {
    out["f:" + k] = v.is_object() && !v.empty() ? fields_of(v) : nlohmann::json::object();
  }
  return out;
}

Json fields_v1(const Json& object) {
  nlohmann::json fields = nlohmann::json::object();
  const auto& meta = object["metadata"];
  for (const char* map_field : {"labels", "annotations"}) {
    if (!meta.contains(map_field)) continue;
    nlohmann::json entry = nlohmann::json::object();
    entry["."] = nlohmann::json::object();
    for (const auto& [k, v] : meta[map_field].items()) entry["f:" + k] = nlohmann::json::object();
    fields["f:metadata"][std::string("f:") + map_field] = entry;
  }
  for (const auto& [k, v] : object.items()) {
    if (k == "kind" || k == "apiVersion" || k == "metadata") continue;
    if (v.is_object()) {
      nlohmann::json sub = fields_of(v);
      if (!sub.empty()) fields["f:" + k] = sub;
    } else if (!v.is_null() && !(v.is_string() && v.get_ref<const std::string&>().empty())) {
      // A top-level leaf (an Event's reason, count, firstTimestamp; an EndpointSlice's addressType).
      // One at its zero value (null, "": an Event's unset eventTime, empty reportingInstance) is
      // not listed: the server's field set of a create is the difference from an empty object.
      fields["f:" + k] = nlohmann::json::object();
    }
  }
  return Json::parse(fields.dump());
}

}  // namespace

std::string manager_from_user_agent(std::string_view user_agent) {
  return std::string(user_agent.substr(0, user_agent.find('/')));
}

void update_managed_fields(Json& object, const Json* old, const std::string& manager,
                           const std::string& api_version, std::chrono::system_clock::time_point now) {
  Json entries = Json::array();
  if (old && old->contains("metadata") && (*old)["metadata"].contains("managedFields")) {
    entries = (*old)["metadata"]["managedFields"];
  }
  const Json fields = fields_v1(object);
  bool found = false;
  for (auto& entry : entries) {
    if (entry.value("manager", "") != manager || entry.value("operation", "") != "Update") continue;
    found = true;
    if (entry["fieldsV1"] != fields) {
      entry["time"] = format_rfc3339_seconds(now);
      entry["fieldsV1"] = fields;
      entry["apiVersion"] = api_version;
    }
  }
  if (!found) {
    entries.push_back(Json{{"manager", manager},
                           {"operation", "Update"},
                           {"apiVersion", api_version},
                           {"time", format_rfc3339_seconds(now)},
                           {"fieldsType", "FieldsV1"},
                           {"fieldsV1", fields}});
  }
  object["metadata"]["managedFields"] = std::move(entries);
}

}  // namespace fake
