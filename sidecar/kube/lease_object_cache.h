#pragma once
// The Lease objects this process saw last, by resourceVersion, so that an update is built on the
// very object its base record was read from: labels, annotations, managedFields and fields this
// program does not know survive, while the election carries only the record, the resourceVersion
// and the uid. client-go's LeaseLock keeps the one Lease it last read or wrote (ll.lease); here the
// elector's base may also come from a watch event, delivered later on the election thread while
// the store answers newer reads, so a few versions are kept, not one.
//
// Fed by LeaseClient's get, create and update answers and by LeaseWatcher's events; thread-safe,
// because the watcher runs on its own thread.
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

#include "election/leader_record.h"
#include "kube/lease_json.h"

namespace le::kube {

class LeaseObjectCache {
 public:
  // Versions in flight at once are few: the newest read or write, and watch events the election
  // has not handled yet. A base older than this many versions would only meet a 409 Conflict.
  static constexpr std::size_t kDefaultCapacity = 16;

  explicit LeaseObjectCache(std::size_t capacity = kDefaultCapacity);

  // Keeps `lease`; the lowest resourceVersion goes when more than capacity are kept.
  void remember(const LeaseObject& lease);
  // The object whose resourceVersion and uid are base's; nullopt if it was never seen or is no
  // longer kept. Never another version: a body built on one would undo or misstate what the
  // server holds.
  std::optional<LeaseObject> find(const election::StoredLease& base) const;
  std::size_t size() const;

 private:
  void evict_one();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<LeaseObject> objects_;  // in arrival order
};

}  // namespace le::kube
