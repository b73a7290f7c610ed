#pragma once
// coordination.k8s.io/v1 Lease JSON <-> the election's LeaderRecord, as client-go's
// resourcelock.LeaseLock converts LeaseSpec <-> LeaderElectionRecord. Pure functions.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "election/leader_record.h"
#include "util/result.h"

namespace le::kube {

// Where a lease-elector leader's proxy is reached (LeaderRecord::holder_address), as JSON text.
inline constexpr const char* kLeaderAddressAnnotation = "lease-elector.io/leader-address";

// A Lease as the API server sent it, parsed once: the election's view of it (record,
// resourceVersion, uid) and the whole object, in the server's key order (ordered_json), on which
// the next update is built. The election sees only the StoredLease part; the object stays in the
// kube layer (LeaseObjectCache), as client-go's LeaseLock keeps its Lease.
// clang-tidy 14 follows the implicit noexcept move into nlohmann's basic_json(basic_json&&), which
// is noexcept itself (what it calls there only asserts), and reports an exception escape.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct LeaseObject : election::StoredLease {
  nlohmann::ordered_json object;
};

// A Lease object as the API server returns it. Anything that is not a Lease of the expected shape
// is a malformed_response error.
util::Result<LeaseObject> parse_lease(std::string_view body);
// The same for an object already parsed (a watch event's "object").
util::Result<LeaseObject> lease_from_json(nlohmann::ordered_json object);

// The PUT body for an update: base.object with the spec's record fields replaced and
// metadata.resourceVersion = base.resource_version (a Lease has no unconditional update: without
// it the server answers 422). Labels, annotations, managedFields, metadata.uid (the update's UID
// precondition) and fields this program does not know, in spec or elsewhere, are sent back
// unchanged and in the order the server wrote them. An error (kind other) only if base.object is
// not a JSON object.
util::Result<std::string> build_update_body(const LeaseObject& base, const election::LeaderRecord& record);

// The POST body that creates the Lease ns/name holding record.
std::string build_create_body(std::string_view ns, std::string_view name,
                              const election::LeaderRecord& record);

}  // namespace le::kube
