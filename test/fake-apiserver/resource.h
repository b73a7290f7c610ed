#pragma once
// What the generic REST layer needs to know about one kind of object. Leases are the first; Pods,
// Events and EndpointSlices are added later as further ResourceStrategy implementations, without
// touching the REST flow, the store or the router.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "json.h"
#include "selectors.h"
#include "status.h"

namespace fake {

struct ResourceInfo {
  std::string group;      // "coordination.k8s.io"; empty for the core group
  std::string version;    // "v1"
  std::string resource;   // plural, as in URLs and RBAC: "leases"
  std::string kind;       // "Lease"
  std::string list_kind;  // "LeaseList"
  std::string singular;   // "lease"
  bool namespaced = true;
  // PUT to a missing name creates it (strategy.AllowCreateOnUpdate; true for Leases upstream),
  // unless the body names a uid: that is a UID precondition a missing object fails.
  bool allow_create_on_update = false;
  // A PUT without metadata.resourceVersion overwrites (strategy.AllowUnconditionalUpdate; false
  // for Leases, true for Pods and EndpointSlices).
  bool allow_unconditional_update = false;
  // Subresources served besides the object itself, e.g. {"status"} for Pods.
  std::vector<std::string> subresources;
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;
  // What a list's or watch's fieldSelector may name, and how each label reads an object (the
  // kind's field label conversion and its strategy's GetAttrs upstream).
  FieldLabels field_labels = FieldLabels::metadata_only();

  GroupResource group_resource() const { return {group, resource}; }
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

class ResourceStrategy {
 public:
  virtual ~ResourceStrategy() = default;
  virtual const ResourceInfo& info() const = 0;

  // The request body (already valid JSON) as the object the server would store: unknown fields
  // dropped, times normalised, kind/apiVersion set. A type error is the decoder's 400.
  virtual std::variant<Json, ApiError> decode(const Json& body) const = 0;

  // strategy.Validate / ValidateUpdate: metadata and spec rules, each failure a 422 cause.
  virtual FieldErrors validate(const Json& object) const = 0;
  virtual FieldErrors validate_update(const Json& object, const Json& old) const = 0;

  // strategy.PrepareForCreate: fields the server sets itself (a new Pod's status).
  virtual Json prepare_for_create(Json object) const { return object; }
  // strategy.PrepareForUpdate of the object (subresource "") or of a subresource ("status"): what
  // the write may not change is put back from `old` (a Pod's status through the object, its spec
  // through pods/status). metadata.resourceVersion is left as sent: it is the precondition.
  virtual Json prepare_for_update(Json object, const Json& /*old*/,
                                  const std::string& /*subresource*/) const {
    return object;
  }
  // application/strategic-merge-patch+json. Without lists that have merge keys it is a JSON merge
  // patch, which is the default; resources with such lists (Pods) override it.
  virtual Json strategic_merge(const Json& original, const Json& patch) const {
    Json merged = original;
    merged.merge_patch(patch);
    return merged;
  }
};

}  // namespace fake
