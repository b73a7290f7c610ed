#pragma once
// What a request is about, worked out from its method and path the way apiserver's
// RequestInfoFactory does before authorization: verb, API group/version, namespace, resource,
// name, subresource. Authorization and routing both read it.
#include <map>
#include <string>
#include <string_view>

namespace fake {

struct RequestInfo {
  bool is_resource = false;
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // decoded
  std::string verb;  // get list watch create update patch delete deletecollection; or the lowercased method
  std::string group;
  std::string version;
  std::string ns;
  std::string resource;
  std::string subresource;
  std::string name;

  // "leases", or "pods/status" as RBAC names a subresource.
  std::string rbac_resource() const { return subresource.empty() ? resource : resource + "/" + subresource; }
};

RequestInfo parse_request_info(std::string_view method, std::string_view target);
std::string url_decode(std::string_view s);

}  // namespace fake
