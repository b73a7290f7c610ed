#pragma once
// core/v1 Pod, the parts routing uses: metadata (labels, annotations), an opaque spec that must
// name its containers, and status through the pods/status subresource (pkg/registry/core/pod/
// strategy.go: an update of the Pod keeps the old status, an update of pods/status keeps the old
// spec and metadata). Strategic merge patches merge status.conditions by type, as the Go types'
// patchMergeKey tags say. A new Pod is Pending with no node: nothing schedules or runs it.
// The version (KubeVersion) gives the decoder's wording and whether Pods carry metadata.generation.
#include "kube_version.h"
#include "resource.h"

namespace fake {

class PodStrategy final : public ResourceStrategy {
 public:
  explicit PodStrategy(KubeVersion version = *kube_version("1.20"));
  const ResourceInfo& info() const override { return info_; }
  std::variant<Json, ApiError> decode(const Json& body) const override;
  FieldErrors validate(const Json& object) const override;
  FieldErrors validate_update(const Json& object, const Json& old) const override;
  Json prepare_for_create(Json object) const override;
  Json prepare_for_update(Json object, const Json& old, const std::string& subresource) const override;
  Json strategic_merge(const Json& original, const Json& patch) const override;

 private:
  ResourceInfo info_;
  KubeVersion version_;
};

}  // namespace fake
