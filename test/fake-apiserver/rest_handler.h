#pragma once
// The generic registry flow of kube-apiserver (handlers/{create,update,patch,delete,get}.go and
// registry/generic/registry/store.go) for one resource: decode, name checks, preconditions,
// validation, no-op detection, storage. Resource specifics come from the ResourceStrategy.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "ids.h"
#include "json.h"
#include "kube_version.h"
#include "object_store.h"
#include "resource.h"
#include "status.h"

namespace fake {

struct RestContext {
  std::string ns;
  std::string name;
  std::string subresource;  // "" or one of ResourceInfo::subresources
  std::string body;
  std::string content_type;  // media type only, parameters stripped
  std::map<std::string, std::string> query;
  std::string user_agent;
  std::chrono::system_clock::time_point now;
  // Authorizes an extra verb a request turns into: a PUT to a missing Lease is also a "create".
  std::function<std::optional<ApiError>(const std::string& verb)> authorize;
};

struct RestResult {
  unsigned code = 200;
  Json body;
};
using RestOutcome = std::variant<RestResult, ApiError>;

// Parses a request body as JSON, answering malformed input as the real decoder does (sample 10).
std::variant<Json, ApiError> parse_body(const std::string& raw, const std::string& kind);

class ResourceHandler {
 public:
  // `version` gives the version-specific rules of the generic flow; it must outlive the handler.
  ResourceHandler(const ResourceStrategy& strategy, ObjectStore& store, IdGenerator& ids,
                  const KubeVersion& version)
      : strategy_(strategy), store_(store), ids_(ids), version_(version) {}

  const ResourceInfo& info() const { return strategy_.info(); }

  RestOutcome get(const RestContext& ctx) const;
  RestOutcome list(const RestContext& ctx) const;
  RestOutcome create(const RestContext& ctx);
  RestOutcome update(const RestContext& ctx);
  RestOutcome patch(const RestContext& ctx);
  RestOutcome remove(const RestContext& ctx);

 private:
  const ResourceStrategy& strategy_;
  ObjectStore& store_;
  IdGenerator& ids_;
  const KubeVersion& version_;

  // Create of an already decoded object (POST, and PUT of a missing name).
  RestOutcome create_decoded(const RestContext& ctx, Json object, bool reject_resource_version);
  // The common tail of PUT and PATCH once `object` is decoded and named.
  RestOutcome update_existing(const RestContext& ctx, Json object, const Json& existing);
  Json stored_for_write(const RestContext& ctx, Json object, const Json* old) const;
};

}  // namespace fake
