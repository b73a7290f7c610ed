#pragma once
// discovery.k8s.io EndpointSlice, v1 (1.21+) or v1beta1 (1.17-1.24), as pkg/apis/discovery/
// validation checks it: addressType required and immutable, addresses that match it, ports with
// a valid protocol. The fake serves one version at a time (--endpointslice-version), which is
// enough to reproduce a 1.20 server (v1beta1 only) or a current one (v1); it does not convert.
#include "kube_version.h"
#include "resource.h"

namespace fake {

class EndpointSliceStrategy final : public ResourceStrategy {
 public:
  explicit EndpointSliceStrategy(std::string version, KubeVersion kube = *kube_version("1.20"));
  const ResourceInfo& info() const override { return info_; }
  std::variant<Json, ApiError> decode(const Json& body) const override;
  FieldErrors validate(const Json& object) const override;
  FieldErrors validate_update(const Json& object, const Json& old) const override;
  Json prepare_for_create(Json object) const override;
  Json prepare_for_update(Json object, const Json& old, const std::string& subresource) const override;

 private:
  ResourceInfo info_;
  KubeVersion kube_;
};

}  // namespace fake
