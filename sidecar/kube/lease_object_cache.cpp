#include "kube/lease_object_cache.h"

#include <algorithm>

namespace le::kube {

LeaseObjectCache::LeaseObjectCache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

void LeaseObjectCache::remember(const LeaseObject& lease) {
  std::lock_guard lock(mutex_);
  // One resourceVersion names one state of the object: a second sighting (a watch event for our
  // own write) replaces the first and counts as new.
  std::erase_if(objects_,
                [&](const LeaseObject& kept) { return kept.resource_version == lease.resource_version; });
  objects_.push_back(lease);
  while (objects_.size() > capacity_) objects_.pop_front();
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
