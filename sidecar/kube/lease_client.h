#pragma once
// election::LeaseStore against the API server: GET, POST and PUT of one coordination.k8s.io/v1
// Lease, the three calls client-go's LeaseLock makes (Get, Create, Update).
//
// Never throws to the caller: every failure is an ApiError. Not thread-safe (the transport is
// not); the elector's loop is its only user. Logs only at debug level and never a token.
#include <memory>
#include <string>

#include "election/lease_store.h"
#include "kube/http_transport.h"
#include "kube/lease_json.h"
#include "kube/lease_object_cache.h"

namespace le::kube {

class LeaseClient final : public election::LeaseStore {
 public:
  // ns and name must be valid Kubernetes names (DNS labels / subdomains); they go into the URL
  // unescaped. `objects` keeps every Lease object this client reads or writes; share it with the
  // LeaseWatcher so that a base from a watch event can be updated too.
  LeaseClient(std::unique_ptr<HttpTransport> transport, std::string ns, std::string name,
              std::shared_ptr<LeaseObjectCache> objects = std::make_shared<LeaseObjectCache>());

  util::Result<election::StoredLease> get(std::chrono::milliseconds timeout) override;
  util::Result<election::StoredLease> create(const election::LeaderRecord& record,
                                             std::chrono::milliseconds timeout) override;
  // Built on the object kept for base.resource_version (and base.uid); if none is kept, fails
  // (kind other) without a request: a body built on another version could undo someone's write.
  util::Result<election::StoredLease> update(const election::StoredLease& base,
                                             const election::LeaderRecord& record,
                                             std::chrono::milliseconds timeout) override;
  // The same on an object the caller holds.
  util::Result<election::StoredLease> update(const LeaseObject& base, const election::LeaderRecord& record,
                                             std::chrono::milliseconds timeout);
  std::string describe() const override;  // "ns/name"

  const std::shared_ptr<LeaseObjectCache>& objects() const { return objects_; }

 private:
  util::Result<election::StoredLease> exchange(std::string_view method, const std::string& path,
                                               std::string_view body, std::chrono::milliseconds timeout);

  std::unique_ptr<HttpTransport> transport_;
  std::string namespace_;
  std::string name_;
  std::string collection_path_;  // .../namespaces/{ns}/leases
  std::string object_path_;      // .../namespaces/{ns}/leases/{name}
  std::shared_ptr<LeaseObjectCache> objects_;
};

}  // namespace le::kube
