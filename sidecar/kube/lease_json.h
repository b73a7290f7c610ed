#pragma once
// coordination.k8s.io/v1 Lease JSON <-> the election's LeaderRecord, as client-go's
// resourcelock.LeaseLock converts LeaseSpec <-> LeaderElectionRecord. Pure functions.
#include <string>
#include <string_view>

#include "election/leader_record.h"
#include "election/lease_store.h"

namespace le::kube {

// A Lease object as the API server returns it. Anything that is not a Lease of the expected shape
// is a malformed_response error; raw_object is the body exactly as received.
util::Result<election::StoredLease> parse_lease(std::string_view body);

// The PUT body for an update: base.raw_object with the spec's record fields replaced and
// metadata.resourceVersion = base.resource_version (a Lease has no unconditional update: without
// it the server answers 422). Labels, annotations, managedFields and fields this program does not
// know, in spec or elsewhere, are sent back unchanged. An error (kind other) only if raw_object is
// not a JSON object.
util::Result<std::string> build_update_body(const election::StoredLease& base,
                                            const election::LeaderRecord& record);

// The POST body that creates the Lease ns/name holding record.
std::string build_create_body(std::string_view ns, std::string_view name,
                              const election::LeaderRecord& record);

}  // namespace le::kube
