#pragma once
// core/v1 Event as kube-apiserver serves it at /api/v1/namespaces/{ns}/events
// (pkg/registry/core/event/strategy.go, pkg/apis/core/validation/events.go):
//  - namespaced, create on update and unconditional update allowed, nothing prepared by the server;
//  - through core/v1 only legacyValidateEvent applies (ValidateEventCreate/Update return early for
//    v1): the involved object's namespace must agree with the Event's, and an Event with eventTime
//    set needs reportingComponent, reportingInstance, action and reason; then, on create, the
//    generic metadata check of rest.BeforeCreate, whose only name rule is that the name can be a
//    path segment (no DNS-subdomain rule: "Demo_1" is a valid Event name);
//  - fieldSelector takes involvedObject.*, reason, reportingComponent, source, type and
//    metadata.name/namespace (ToSelectableFields), anything else is "field label not supported".
// The version (KubeVersion) gives the decoder's wording of type errors.
#include "kube_version.h"
#include "resource.h"

namespace fake {

class EventStrategy final : public ResourceStrategy {
 public:
  explicit EventStrategy(KubeVersion version = *kube_version("1.20"));
  const ResourceInfo& info() const override { return info_; }
  std::variant<Json, ApiError> decode(const Json& body) const override;
  FieldErrors validate(const Json& object) const override;
  FieldErrors validate_update(const Json& object, const Json& old) const override;
  Json strategic_merge(const Json& original, const Json& patch) const override;

 private:
  ResourceInfo info_;
  KubeVersion version_;
};

}  // namespace fake
