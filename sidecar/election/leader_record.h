#pragma once
// The election's view of a Lease, as client-go's resourcelock.LeaderElectionRecord is its view:
// the kube layer converts a coordination.k8s.io/v1 Lease into this and back, so the election core
// knows nothing of JSON or HTTP.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "util/micro_time.h"

namespace le::election {

using util::WallTime;

struct LeaderRecord {
  // Absent, null and "" all mean "no holder": the Lease is free (a real API server drops an
  // omitted holderIdentity, while client-go's release writes "").
  std::string holder_identity;
  // What the holder promised. Absent counts as zero, so a held record without it is already
  // expired, as client-go reads it.
  std::optional<std::chrono::seconds> lease_duration;
  std::optional<WallTime> acquire_time;
  std::optional<WallTime> renew_time;
  std::int32_t lease_transitions = 0;
  // Where the holder's proxy is reached, "IP:PORT" (--route proxy): lease-elector writes it into the
  // annotation lease-elector.io/leader-address with the holder's identity and acquireTime, and
  // reads it back only while both still match the record. A client-go elector that takes the Lease
  // over keeps the annotation it read, and a Pod re-created under the same name has a new IP: the
  // match is what keeps a follower from forwarding to either. "" when there is none.
  std::string holder_address;

  bool has_holder() const { return !holder_identity.empty(); }
  bool operator==(const LeaderRecord&) const = default;
};

// A record as one read or write of the store returned it.
struct StoredLease {
  LeaderRecord record;
  // The optimistic-concurrency token: every update carries the version it is based on.
  std::string resource_version;
  // metadata.uid: a new one each time the Lease is created, so a change of it means the Lease was
  // deleted and created again in between. "" if the server sent none.
  std::string uid;
  // The whole object is not here: the store keeps it (as client-go's LeaseLock keeps its Lease)
  // and builds the next update on it, so labels, annotations and fields this program does not
  // know survive.
};

}  // namespace le::election
