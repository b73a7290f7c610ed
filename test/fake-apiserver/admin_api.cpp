#include "admin_api.h"

#include "api_server.h"

namespace fake {
namespace {

ApiResponse admin_error(unsigned status, const std::string& message) {
  return json_response(status, Json{{"error", message}});
}

}  // namespace

AdminApi::AdminApi(FaultRules& faults, Stats& stats, TokenAuthenticator& tokens, const ObjectStore& store)
    : faults_(faults), stats_(stats), tokens_(tokens), store_(store) {
  routes_ = {
      {{"GET", "/faults"}, [this](const ApiRequest&) { return json_response(200, faults_.to_json()); }},
      {{"PUT", "/faults"}, [this](const ApiRequest& r) { return put_faults(r); }},
      {{"GET", "/stats"}, [this](const ApiRequest&) { return json_response(200, stats_.to_json()); }},
      {{"POST", "/stats/reset"},
       [this](const ApiRequest&) {
         stats_.reset();
         return json_response(200, stats_.to_json());
       }},
      {{"GET", "/tokens"}, [this](const ApiRequest&) { return get_tokens(); }},
      {{"POST", "/tokens"}, [this](const ApiRequest& r) { return post_tokens(r); }},
      {{"GET", "/objects"}, [this](const ApiRequest&) { return json_response(200, store_.to_json()); }},
      {{"GET", "/healthz"},
       [](const ApiRequest&) {
         ApiResponse r;
         r.content_type = "text/plain; charset=utf-8";
         r.body = "ok";
         return r;
       }},
  };
}

ApiResponse AdminApi::handle(const ApiRequest& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  const auto it = routes_.find({request.method, path});
  if (it != routes_.end()) return it->second(request);
  for (const auto& [key, route] : routes_) {
    if (key.second == path) return admin_error(405, "method " + request.method + " not allowed on " + path);
  }
  return admin_error(404, "no admin endpoint " + path);
}

ApiResponse AdminApi::put_faults(const ApiRequest& request) {
  Json doc;
  try {
    doc = request.body.empty() ? Json::object() : Json::parse(request.body);
  } catch (const Json::parse_error& e) {
    return admin_error(400, std::string("malformed JSON: ") + e.what());
  }
  auto parsed = FaultRules::from_json(doc);
  if (auto* error = std::get_if<std::string>(&parsed)) return admin_error(400, *error);
  faults_ = std::get<FaultRules>(parsed);
  return json_response(200, faults_.to_json());
}

ApiResponse AdminApi::post_tokens(const ApiRequest& request) {
  Json doc;
  try {
    doc = Json::parse(request.body);
  } catch (const Json::parse_error& e) {
    return admin_error(400, std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) return admin_error(400, "expected a JSON object");
  if (doc.contains("revoke")) {
    if (!doc["revoke"].is_string()) return admin_error(400, "revoke must be a string");
    if (!tokens_.revoke(doc["revoke"].get<std::string>())) return admin_error(404, "no such token");
    return get_tokens();
  }
  if (!doc.contains("token") || !doc["token"].is_string() || doc["token"].get<std::string>().empty() ||
      !doc.contains("user") || !doc["user"].is_string()) {
    return admin_error(400, "expected {\"token\":\"...\",\"user\":\"...\"} or {\"revoke\":\"...\"}");
  }
  UserInfo user{doc["user"].get<std::string>(), doc.value("uid", doc["user"].get<std::string>()), {}};
  if (doc.contains("groups")) {
    if (!doc["groups"].is_array()) return admin_error(400, "groups must be an array of strings");
    for (const auto& g : doc["groups"]) {
      if (!g.is_string()) return admin_error(400, "groups must be an array of strings");
      user.groups.push_back(g.get<std::string>());
    }
  } else if (const auto existing = tokens_.token_for(user.name)) {
    // A rotated token keeps the user's groups (admin stays in system:masters).
    user.groups = tokens_.tokens().at(*existing).groups;
  }
  tokens_.add(doc["token"].get<std::string>(), std::move(user));
  return get_tokens();
}

ApiResponse AdminApi::get_tokens() const {
  Json list = Json::array();
  for (const auto& [token, user] : tokens_.tokens()) {
    list.push_back(Json{{"token", token}, {"user", user.name}, {"uid", user.uid}, {"groups", user.groups}});
  }
  return json_response(200, Json{{"tokens", list}});
}

}  // namespace fake
