#pragma once
// A small stand-in for RBAC. Without a policy every authenticated user may do everything. With one
// (--rbac-file), only what it grants is allowed:
//
//   {"users":  {"elector": {"namespaces": ["default"],
//                           "resources": {"leases": ["get","create","update","patch","watch","list"]}}},
//    "groups": {"viewers": {"namespaces": ["*"], "resources": {"*": ["get","list","watch"]}}}}
//
// "*" matches any namespace, resource or verb; subresources are named "pods/status". Members of
// system:masters are always allowed; system:anonymous never is (anonymous requests get 403 as on a
// cluster with default RBAC, sample 11).
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "token_auth.h"

namespace fake {

struct Grant {
  std::vector<std::string> namespaces;
  std::map<std::string, std::vector<std::string>> resources;
};

class Authorizer {
 public:
  static Authorizer allow_all_authenticated() { return Authorizer(); }
  static std::variant<Authorizer, std::string> from_json(const std::string& text);

  bool allowed(const UserInfo& user, const std::string& verb, const std::string& resource,
               const std::string& ns) const;
  bool restricted() const { return policy_.has_value(); }

 private:
  struct Policy {
    std::map<std::string, Grant> users;
    std::map<std::string, Grant> groups;
  };
  std::optional<Policy> policy_;
};

}  // namespace fake
