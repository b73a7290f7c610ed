#pragma once
// How the election reads and writes its Lease. kube/lease_client is the implementation against an
// API server; tests use an in-memory one. Like client-go's resourcelock.Interface, but every call
// is bounded by a timeout the elector chooses, so no request outlives the renew deadline.
#include <chrono>
#include <string>

#include "election/leader_record.h"
#include "util/result.h"

namespace le::election {

// The store's answers use the one result type of the program (util/result.h); these names keep
// election code and its tests reading as before.
using util::ApiError;
using util::ApiErrorKind;
using util::Result;

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  virtual Result<StoredLease> get(std::chrono::milliseconds timeout) = 0;
  // Creates the Lease with this record; already_exists if it exists.
  virtual Result<StoredLease> create(const LeaderRecord& record, std::chrono::milliseconds timeout) = 0;
  // Replaces base's record with this one, conditional on base.resource_version (and base.uid);
  // everything in the object base was read as that is not the record is kept. That object is the
  // store's to keep: a store that no longer has it fails the update rather than build it on
  // another version.
  virtual Result<StoredLease> update(const StoredLease& base, const LeaderRecord& record,
                                     std::chrono::milliseconds timeout) = 0;
  // "namespace/name", for logs.
  virtual std::string describe() const = 0;
};

}  // namespace le::election
