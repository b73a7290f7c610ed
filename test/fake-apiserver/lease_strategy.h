#pragma once
// coordination.k8s.io/v1 Lease as kube-apiserver decodes and validates it
// (pkg/apis/coordination/validation and pkg/registry/coordination/lease/strategy.go), in the
// version given (KubeVersion: the decoder's wording, spec.strategy and spec.preferredHolder).
#include "kube_version.h"
#include "resource.h"

namespace fake {

class LeaseStrategy final : public ResourceStrategy {
 public:
  explicit LeaseStrategy(KubeVersion version = *kube_version("1.20"));
  const ResourceInfo& info() const override { return info_; }
  std::variant<Json, ApiError> decode(const Json& body) const override;
  FieldErrors validate(const Json& object) const override;
  FieldErrors validate_update(const Json& object, const Json& old) const override;

 private:
  ResourceInfo info_;
  KubeVersion version_;
};

}  // namespace fake
