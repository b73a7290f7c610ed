#pragma once
// The fake's etcd: objects of every resource, one global resourceVersion counter bumped on every
// write (as etcd's revision is), and a bounded history of change events so that watches can replay
// from a resourceVersion and answer 410 Expired once it has left the window, like the watch cache.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "json.h"

namespace fake {

enum class EventType { Added, Modified, Deleted };
const char* to_string(EventType type);

struct ChangeEvent {
  EventType type;
  std::uint64_t resource_version;
  std::string resource;  // "leases"
  Json object;           // the object at resource_version (for Deleted: the last state, new RV)
};

class ObjectStore {
 public:
  using Listener = std::function<void(const ChangeEvent&)>;

  explicit ObjectStore(std::size_t event_window = 1000) : event_window_(event_window) {}
  // Starts the store's history at `resource_version`, as a real API server's watch cache starts
  // at the revision it first lists: a watch from before it is too old (410 Expired).
  void start_at(std::uint64_t resource_version) { resource_version_ = history_floor_ = resource_version; }

  const Json* find(const std::string& resource, const std::string& ns, const std::string& name) const;
  // Sorted by namespace then name, as etcd's key order gives them. Empty `ns`: all namespaces.
  std::vector<const Json*> list(const std::string& resource, const std::string& ns) const;

  // Stores `object` (metadata.namespace/name identify it) under the next resourceVersion, which it
  // writes into metadata.resourceVersion. Returns the stored object.
  const Json& write(const std::string& resource, Json object, EventType type);
  // Removes the object; the returned last state carries the deletion's resourceVersion.
  std::optional<Json> erase(const std::string& resource, const std::string& ns, const std::string& name);

  std::uint64_t resource_version() const { return resource_version_; }

  // Events with resourceVersion > `since`, or nullopt when `since` is older than the kept history.
  std::optional<std::vector<ChangeEvent>> events_since(std::uint64_t since) const;

  // Called after every write (persistence, watches). Returns an id for unsubscribe.
  std::uint64_t subscribe(Listener listener);
  void unsubscribe(std::uint64_t id);

  // Whole-store JSON for --data-file, and loading it back: the counter resumes where it stopped so
  // resourceVersions keep increasing across restarts; the event history starts empty.
  Json to_json() const;
  void load_json(const Json& data);

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  std::map<std::string, std::map<Key, Json>> objects_;
  std::uint64_t resource_version_ = 0;
  // History starts right after this resourceVersion; older ones are "too old".
  std::uint64_t history_floor_ = 0;
  std::deque<ChangeEvent> events_;
  std::size_t event_window_;
  std::map<std::uint64_t, Listener> listeners_;
  std::uint64_t next_listener_id_ = 1;

  void record(ChangeEvent event);
};

}  // namespace fake
