#pragma once
// coordination.k8s.io/v1 Lease as kube-apiserver 1.20 decodes and validates it
// (pkg/apis/coordination/validation and pkg/registry/coordination/lease/strategy.go).
#include "resource.h"

namespace fake {

class LeaseStrategy final : public ResourceStrategy {
 public:
  LeaseStrategy();
  const ResourceInfo& info() const override { return info_; }
  std::variant<Json, ApiError> decode(const Json& body) const override;
  FieldErrors validate(const Json& object) const override;
  FieldErrors validate_update(const Json& object, const Json& old) const override;

 private:
  ResourceInfo info_;
};

}  // namespace fake
