#include "rbac.h"

#include <algorithm>

#include "json.h"

namespace fake {
namespace {

bool contains_or_star(const std::vector<std::string>& list, const std::string& value) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return s == "*" || s == value; });
}

bool grants(const Grant& grant, const std::string& verb, const std::string& resource, const std::string& ns) {
  // Cluster-scoped requests (empty namespace, e.g. a list across namespaces) need "*".
  if (!contains_or_star(grant.namespaces, ns.empty() ? std::string("*") : ns)) return false;
  for (const auto& [r, verbs] : grant.resources) {
    if ((r == "*" || r == resource) && contains_or_star(verbs, verb)) return true;
  }
  return false;
}

std::map<std::string, Grant> parse_grants(const Json& section, const char* what) {
  std::map<std::string, Grant> out;
  if (section.is_null()) return out;
  if (!section.is_object()) throw std::runtime_error(std::string("\"") + what + "\" must be an object");
  for (const auto& [name, g] : section.items()) {
    Grant grant;
    grant.namespaces = g.value("namespaces", std::vector<std::string>{"*"});
    static const Json kNone = Json::object();
    const Json& resources = g.contains("resources") ? g["resources"] : kNone;
    for (const auto& [resource, verbs] : resources.items()) {
      grant.resources[resource] = verbs.get<std::vector<std::string>>();
    }
    out[name] = std::move(grant);
  }
  return out;
}

}  // namespace

std::variant<Authorizer, std::string> Authorizer::from_json(const std::string& text) {
  try {
    const Json doc = Json::parse(text);
    if (!doc.is_object()) return std::string("the policy must be a JSON object");
    Authorizer a;
    a.policy_ = Policy{parse_grants(doc.value("users", Json()), "users"),
                       parse_grants(doc.value("groups", Json()), "groups")};
    return a;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

bool Authorizer::allowed(const UserInfo& user, const std::string& verb, const std::string& resource,
                         const std::string& ns) const {
  if (user.name == kAnonymousUser) return false;
  if (std::find(user.groups.begin(), user.groups.end(), kMastersGroup) != user.groups.end()) return true;
  if (!policy_) return true;
  if (const auto it = policy_->users.find(user.name);
      it != policy_->users.end() && grants(it->second, verb, resource, ns)) {
    return true;
  }
  for (const auto& group : user.groups) {
    if (const auto it = policy_->groups.find(group);
        it != policy_->groups.end() && grants(it->second, verb, resource, ns)) {
      return true;
    }
  }
  return false;
}

}  // namespace fake
