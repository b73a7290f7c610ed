#include "object_store.h"

#include <algorithm>

namespace fake {

const char* to_string(EventType type) {
  switch (type) {
    case EventType::Added:
      return "ADDED";
    case EventType::Modified:
      return "MODIFIED";
    case EventType::Deleted:
      return "DELETED";
  }
  return "MODIFIED";
}

namespace {
std::pair<std::string, std::string> key_of(const Json& object) {
  const auto& meta = object["metadata"];
  return {meta.value("namespace", ""), meta.value("name", "")};
}
}  // namespace

const Json* ObjectStore::find(const std::string& resource, const std::string& ns,
                              const std::string& name) const {
  const auto r = objects_.find(resource);
  if (r == objects_.end()) return nullptr;
  const auto it = r->second.find({ns, name});
  return it == r->second.end() ? nullptr : &it->second;
}

std::vector<const Json*> ObjectStore::list(const std::string& resource, const std::string& ns) const {
  std::vector<const Json*> out;
  const auto r = objects_.find(resource);
  if (r == objects_.end()) return out;
  for (const auto& [key, object] : r->second) {
    if (ns.empty() || key.first == ns) out.push_back(&object);
  }
  return out;
}

const Json& ObjectStore::write(const std::string& resource, Json object, EventType type) {
  ++resource_version_;
  object["metadata"]["resourceVersion"] = std::to_string(resource_version_);
  auto& slot = objects_[resource][key_of(object)];
  slot = std::move(object);
  record(ChangeEvent{type, resource_version_, resource, slot});
  return slot;
}

std::optional<Json> ObjectStore::erase(const std::string& resource, const std::string& ns,
                                       const std::string& name) {
  const auto r = objects_.find(resource);
  if (r == objects_.end()) return std::nullopt;
  const auto it = r->second.find({ns, name});
  if (it == r->second.end()) return std::nullopt;
  Json last = std::move(it->second);
  r->second.erase(it);
  ++resource_version_;
  // The DELETED watch event carries the deletion's revision (sample 20: 194 -> DELETED at 195).
  last["metadata"]["resourceVersion"] = std::to_string(resource_version_);
  record(ChangeEvent{EventType::Deleted, resource_version_, resource, last});
  return last;
}

void ObjectStore::record(ChangeEvent event) {
  events_.push_back(event);
  while (events_.size() > event_window_) {
    history_floor_ = events_.front().resource_version;
    events_.pop_front();
  }
  // Copy: a listener may unsubscribe itself.
  const auto listeners = listeners_;
  for (const auto& [id, listener] : listeners) listener(event);
}

std::optional<std::vector<ChangeEvent>> ObjectStore::events_since(std::uint64_t since) const {
  if (since < history_floor_) return std::nullopt;
  std::vector<ChangeEvent> out;
  for (const auto& e : events_) {
    if (e.resource_version > since) out.push_back(e);
  }
  return out;
}

std::uint64_t ObjectStore::subscribe(Listener listener) {
  const auto id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void ObjectStore::unsubscribe(std::uint64_t id) { listeners_.erase(id); }

Json ObjectStore::to_json() const {
  Json data = Json::object();
  data["resourceVersion"] = std::to_string(resource_version_);
  Json resources = Json::object();
  for (const auto& [resource, objects] : objects_) {
    Json items = Json::array();
    for (const auto& [key, object] : objects) items.push_back(object);
    resources[resource] = std::move(items);
  }
  data["resources"] = std::move(resources);
  return data;
}

void ObjectStore::load_json(const Json& data) {
  objects_.clear();
  events_.clear();
  resource_version_ = std::stoull(data.value("resourceVersion", "0"));
  static const Json kNone = Json::object();
  const Json& resources = data.contains("resources") ? data["resources"] : kNone;
  for (const auto& [resource, items] : resources.items()) {
    for (const auto& object : items) {
      // A stored object can never be newer than the counter, even in a hand-edited file.
      resource_version_ = std::max<std::uint64_t>(
          resource_version_, std::stoull(object["metadata"].value("resourceVersion", "0")));
      objects_[resource][key_of(object)] = object;
    }
  }
  // Watches from before the restart cannot be resumed: everything up to now is "too old".
  history_floor_ = resource_version_;
}

}  // namespace fake
