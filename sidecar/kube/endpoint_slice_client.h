#pragma once
// route::EndpointSliceApi against the API server: GET, POST and a resourceVersion-conditioned
// PUT of one EndpointSlice. The version is chosen by discovery (GET /apis/discovery.k8s.io) on
// first use: discovery.k8s.io/v1 where served (1.21+), else v1beta1 (1.20). Both have the fields
// written here (addressType, endpoints[].addresses/conditions.ready/targetRef, ports).
// Not thread-safe: the routing thread is its only user.
#include <memory>
#include <optional>
#include <string>

#include "kube/http_transport.h"
#include "route/route_api.h"

namespace le::kube {

class EndpointSliceClient final : public route::EndpointSliceApi {
 public:
  EndpointSliceClient(std::unique_ptr<HttpTransport> transport, std::string ns);

  util::Result<route::EndpointSlice> get(const std::string& name, std::chrono::milliseconds timeout) override;
  util::Result<route::EndpointSlice> create(const route::EndpointSlice& slice,
                                            std::chrono::milliseconds timeout) override;
  util::Result<route::EndpointSlice> update(const route::EndpointSlice& slice,
                                            std::chrono::milliseconds timeout) override;
  std::string namespace_name() const override { return namespace_; }
  std::string api_version() const override { return version_ ? "discovery.k8s.io/" + *version_ : ""; }

 private:
  // The collection path for the discovered version, or the discovery failure.
  util::Result<std::string> collection(std::chrono::milliseconds timeout);
  util::Result<route::EndpointSlice> slice_call(std::string_view method, const std::string& path,
                                                const std::string& body, std::chrono::milliseconds timeout,
                                                const std::string& what);

  std::unique_ptr<HttpTransport> transport_;
  std::string namespace_;
  std::optional<std::string> version_;  // "v1" or "v1beta1"
};

// The preferred of the served versions in an APIGroup document: "v1", else "v1beta1".
std::optional<std::string> choose_endpoint_slice_version(const std::string& api_group_json);
util::Result<route::EndpointSlice> parse_endpoint_slice(const std::string& body);
// The object to send: `slice.raw_object` (if any) with the routed fields replaced.
std::string build_endpoint_slice(const route::EndpointSlice& slice, const std::string& api_version,
                                 const std::string& ns);

}  // namespace le::kube
