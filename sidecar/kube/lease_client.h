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

namespace le::kube {

class LeaseClient final : public election::LeaseStore {
 public:
  // ns and name must be valid Kubernetes names (DNS labels / subdomains); they go into the URL
  // unescaped.
  LeaseClient(std::unique_ptr<HttpTransport> transport, std::string ns, std::string name);

  util::Result<election::StoredLease> get(std::chrono::milliseconds timeout) override;
  util::Result<election::StoredLease> create(const election::LeaderRecord& record,
                                             std::chrono::milliseconds timeout) override;
  util::Result<election::StoredLease> update(const election::StoredLease& base,
                                             const election::LeaderRecord& record,
                                             std::chrono::milliseconds timeout) override;
  std::string describe() const override;  // "ns/name"

 private:
  util::Result<election::StoredLease> exchange(std::string_view method, const std::string& path,
                                               std::string_view body, std::chrono::milliseconds timeout);

  std::unique_ptr<HttpTransport> transport_;
  std::string namespace_;
  std::string name_;
  std::string collection_path_;  // .../namespaces/{ns}/leases
  std::string object_path_;      // .../namespaces/{ns}/leases/{name}
};

}  // namespace le::kube
