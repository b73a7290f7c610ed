#include "kube/lease_object_cache.h"

#include <algorithm>
#include <iterator>

#include "election/lease_event.h"

namespace le::kube {

LeaseObjectCache::LeaseObjectCache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

void LeaseObjectCache::remember(const LeaseObject& lease) {
  std::lock_guard lock(mutex_);
  // One resourceVersion of one object (uid) names one state of it: a second sighting (a watch
  // event for our own write) replaces the first.
  std::erase_if(objects_, [&](const LeaseObject& kept) {
    return kept.resource_version == lease.resource_version && kept.uid == lease.uid;
  });
  objects_.push_back(lease);
  while (objects_.size() > capacity_) evict_one();
}

// The lowest resourceVersion goes first, not the oldest arrival: a watch that replays old events
// (after a reconnect) must not push out the newest version, which the elector's next renewal is
// built on. Versions that cannot be ordered fall back to arrival order.
void LeaseObjectCache::evict_one() {
  auto lowest = objects_.begin();
  for (auto it = std::next(objects_.begin()); it != objects_.end(); ++it) {
    const auto order = election::compare_resource_versions(it->resource_version, lowest->resource_version);
    if (!order) {
      objects_.pop_front();
      return;
    }
    if (*order < 0) lowest = it;
  }
  objects_.erase(lowest);
}

std::optional<LeaseObject> LeaseObjectCache::find(const election::StoredLease& base) const {
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(objects_.rbegin(), objects_.rend(), [&](const LeaseObject& kept) {
    return kept.resource_version == base.resource_version && kept.uid == base.uid;
  });
  if (it == objects_.rend()) return std::nullopt;
  return *it;
}

std::size_t LeaseObjectCache::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

}  // namespace le::kube
