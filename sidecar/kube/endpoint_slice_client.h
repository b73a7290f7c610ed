#pragma once
// traffic::EndpointSliceApi against the API server: GET, POST and a resourceVersion-conditioned
// PUT of one EndpointSlice. The version is chosen by discovery (GET /apis/discovery.k8s.io) on
// first use: discovery.k8s.io/v1 where served (1.21+), else v1beta1 (1.20). Both have the fields
// written here (addressType, endpoints[].addresses/conditions.ready/targetRef, ports).
// Not thread-safe: the routing thread is its only user.
#include <memory>
#include <optional>
#include <string>

#include "kube/http_transport.h"
#include "traffic/traffic_api.h"

namespace le::kube {

class EndpointSliceClient final : public traffic::EndpointSliceApi {
 public:
  EndpointSliceClient(std::unique_ptr<HttpTransport> transport, std::string ns);

  util::Result<traffic::EndpointSlice> get(const std::string& name,
                                           std::chrono::milliseconds timeout) override;
  util::Result<traffic::EndpointSlice> create(const traffic::EndpointSlice& slice,
                                              std::chrono::milliseconds timeout) override;
  util::Result<traffic::EndpointSlice> update(const traffic::EndpointSlice& slice,
                                              std::chrono::milliseconds timeout) override;
  std::string namespace_name() const override { return namespace_; }
  std::string api_version() const override { return version_ ? "discovery.k8s.io/" + *version_ : ""; }

 private:
  // The collection path for the discovered version, or the discovery failure.
  util::Result<std::string> collection(std::chrono::milliseconds timeout);
  util::Result<traffic::EndpointSlice> slice_call(std::string_view method, const std::string& path,
                                                  const std::string& body, std::chrono::milliseconds timeout,
                                                  const std::string& what);

  std::unique_ptr<HttpTransport> transport_;
  std::string namespace_;
  std::optional<std::string> version_;  // "v1" or "v1beta1"
};

// The preferred of the served versions in an APIGroup document: "v1", else "v1beta1".
std::optional<std::string> choose_endpoint_slice_version(const std::string& api_group_json);
util::Result<traffic::EndpointSlice> parse_endpoint_slice(const std::string& body);
// The object to send: `slice.raw_object` (if any) with the routed fields replaced.
std::string build_endpoint_slice(const traffic::EndpointSlice& slice, const std::string& api_version,
                                 const std::string& ns);

}  // namespace le::kube
