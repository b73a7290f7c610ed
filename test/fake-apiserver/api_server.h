#pragma once
// The API listener's logic as a plain function from request to response: authentication (401),
// authorization (403, before any validation, sample 19), then a route table: non-resource paths by
// path, resource requests by (group, version, resource) and verb.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "api_types.h"
#include "ids.h"
#include "kube_version.h"
#include "object_store.h"
#include "rbac.h"
#include "resource.h"
#include "rest_handler.h"
#include "token_auth.h"

namespace fake {

class ApiServer {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  // `version`: the Kubernetes version imitated (--kube-version); its rules reach every resource
  // added, and GET /version answers it.
  ApiServer(TokenAuthenticator& tokens, const Authorizer& authorizer, ObjectStore& store, IdGenerator& ids,
            WallClock clock, KubeVersion version = *kube_version("1.20"));

  void add_resource(std::unique_ptr<ResourceStrategy> strategy);
  ApiResponse handle(const ApiRequest& request);

  // The registered resource of that plural name ("leases"), for watch streams.
  const ResourceInfo* find_resource(const std::string& resource) const;

  // Who sent the request, for statistics: a user name, "system:anonymous", or "<invalid-token>".
  std::string user_name(const ApiRequest& request) const;

 private:
  struct Authenticated {
    bool token_rejected = false;
    UserInfo user;
  };
  using NonResourceRoute = std::function<ApiResponse(const RequestInfo&)>;
  using VerbRoute = std::function<RestOutcome(ResourceHandler&, const RestContext&)>;
  struct Registered {
    std::unique_ptr<ResourceStrategy> strategy;
    std::unique_ptr<ResourceHandler> handler;
  };

  TokenAuthenticator& tokens_;
  const Authorizer& authorizer_;
  ObjectStore& store_;
  IdGenerator& ids_;
  WallClock clock_;
  KubeVersion version_;
  std::map<std::string, NonResourceRoute> non_resource_routes_;
  std::map<std::string, VerbRoute> verb_routes_;
  std::map<std::tuple<std::string, std::string, std::string>, Registered> resources_;

  Authenticated authenticate(const ApiRequest& request) const;
  ApiResponse handle_resource(const ApiRequest& request, const RequestInfo& info, const UserInfo& user);
  ApiResponse watch(const RequestInfo& info, const ResourceInfo& resource);
  ApiResponse discovery_group_version(const std::string& group, const std::string& version) const;
  ApiResponse discovery_groups() const;
  ApiResponse discovery_group(const std::string& group) const;
};

ApiResponse to_response(const ApiError& error);
ApiResponse json_response(unsigned status, const Json& body);

}  // namespace fake
