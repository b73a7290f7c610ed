#pragma once
// traffic::PodApi against the API server: GET and list of v1 Pods, a JSON merge patch of
// metadata, and a strategic merge patch of one condition through pods/status. Patches that name
// a resourceVersion in metadata make the API server check it as a precondition (409 Conflict).
// Not thread-safe (the transport is not): the routing thread is its only user.
#include <memory>
#include <string>

#include "kube/http_transport.h"
#include "traffic/traffic_api.h"

namespace le::kube {

class PodClient final : public traffic::PodApi {
 public:
  PodClient(std::unique_ptr<HttpTransport> transport, std::string ns);

  util::Result<traffic::Pod> get(const std::string& name, std::chrono::milliseconds timeout) override;
  util::Result<std::vector<traffic::Pod>> list(const std::string& label_selector,
                                               std::chrono::milliseconds timeout) override;
  util::Result<traffic::Pod> patch_metadata(const std::string& name, const traffic::MetadataPatch& patch,
                                            std::chrono::milliseconds timeout) override;
  util::Result<traffic::Pod> patch_condition(const std::string& name,
                                             const std::optional<std::string>& resource_version,
                                             const traffic::PodCondition& condition,
                                             std::chrono::milliseconds timeout) override;
  std::string namespace_name() const override { return namespace_; }

 private:
  util::Result<traffic::Pod> pod_call(std::string_view method, const std::string& path,
                                      const std::string& body, std::string_view content_type,
                                      std::chrono::milliseconds timeout, const std::string& what);
  std::unique_ptr<HttpTransport> transport_;
  std::string namespace_;
  std::string collection_path_;
};

// The JSON mapping, exposed for tests.
util::Result<traffic::Pod> parse_pod(const std::string& body);
std::string build_metadata_patch(const traffic::MetadataPatch& patch);
std::string build_condition_patch(const std::optional<std::string>& resource_version,
                                  const traffic::PodCondition& condition);

}  // namespace le::kube
