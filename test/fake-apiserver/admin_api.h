#pragma once
// The control plane of the test double, on its own plain-HTTP loopback listener:
//   GET  /faults          current FaultRules           PUT /faults   replace them (omitted fields reset;
//                                                                    "byName" scopes faults to one object)
//   GET  /stats           request counts               POST /stats/reset
//   GET  /tokens          users of the known tokens    POST /tokens  {"token","user","uid"?,"groups"?} adds,
//                                                                    {"revoke":"tok"} revokes
//   GET  /objects         the whole store with its resourceVersion (debugging, assertions)
//   GET  /healthz         "ok"
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "api_types.h"
#include "faults.h"
#include "object_store.h"
#include "stats.h"
#include "token_auth.h"

namespace fake {

class AdminApi {
 public:
  AdminApi(FaultRules& faults, Stats& stats, TokenAuthenticator& tokens, const ObjectStore& store);
  ApiResponse handle(const ApiRequest& request);

 private:
  using Route = std::function<ApiResponse(const ApiRequest&)>;
  std::map<std::pair<std::string, std::string>, Route> routes_;
  FaultRules& faults_;
  Stats& stats_;
  TokenAuthenticator& tokens_;
  const ObjectStore& store_;

  ApiResponse put_faults(const ApiRequest& request);
  ApiResponse post_tokens(const ApiRequest& request);
  ApiResponse get_tokens() const;
};

}  // namespace fake
