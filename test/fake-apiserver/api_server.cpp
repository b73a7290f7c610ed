#include "api_server.h"

#include <algorithm>
#include <set>

namespace fake {
namespace {

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string t(content_type.substr(0, semi));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

// authorizer's reason as RBAC phrases a denial.
std::string denial(const UserInfo& user, const RequestInfo& info) {
  std::string where = info.ns.empty() ? " at the cluster scope" : " in the namespace \"" + info.ns + "\"";
  return "User \"" + user.name + "\" cannot " + info.verb + " resource \"" + info.rbac_resource() +
         "\" in API group \"" + info.group + "\"" + where;
}

// The public-info-viewer paths: allowed even for system:anonymous on a default cluster.
bool is_public_path(const std::string& path) {
  return path == "/version" || path == "/healthz" || path == "/livez" || path == "/readyz";
}

ApiResponse text_response(unsigned status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

}  // namespace

ApiResponse json_response(unsigned status, const Json& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

ApiResponse to_response(const ApiError& error) {
  ApiResponse r = json_response(error.code, error.status);
  if (error.retry_after_seconds)
    r.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  return r;
}

ApiServer::ApiServer(TokenAuthenticator& tokens, const Authorizer& authorizer, ObjectStore& store,
                     IdGenerator& ids, WallClock clock, KubeVersion version)
    : tokens_(tokens),
      authorizer_(authorizer),
      store_(store),
      ids_(ids),
      clock_(std::move(clock)),
      version_(std::move(version)) {
  non_resource_routes_ = {
      {"/version", [this](const RequestInfo&) { return json_response(200, version_.version_document); }},
      {"/healthz", [](const RequestInfo&) { return text_response(200, "ok"); }},
      {"/livez", [](const RequestInfo&) { return text_response(200, "ok"); }},
      {"/readyz", [](const RequestInfo&) { return text_response(200, "ok"); }},
      {"/apis", [this](const RequestInfo&) { return discovery_groups(); }},
  };
  verb_routes_ = {
      {"get", [](ResourceHandler& h, const RestContext& c) { return h.get(c); }},
      {"list", [](ResourceHandler& h, const RestContext& c) { return h.list(c); }},
      {"create", [](ResourceHandler& h, const RestContext& c) { return h.create(c); }},
      {"update", [](ResourceHandler& h, const RestContext& c) { return h.update(c); }},
      {"patch", [](ResourceHandler& h, const RestContext& c) { return h.patch(c); }},
      {"delete", [](ResourceHandler& h, const RestContext& c) { return h.remove(c); }},
  };
}

void ApiServer::add_resource(std::unique_ptr<ResourceStrategy> strategy) {
  const auto& info = strategy->info();
  auto handler = std::make_unique<ResourceHandler>(*strategy, store_, ids_, version_);
  const auto group = info.group;
  const auto version = info.version;
  resources_[{info.group, info.version, info.resource}] = Registered{std::move(strategy), std::move(handler)};
  const std::string gv_path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  non_resource_routes_[gv_path] = [this, group, version](const RequestInfo&) {
    return discovery_group_version(group, version);
  };
  if (group.empty()) {
    // The core group's versions (discovery.APIVersionHandler).
    non_resource_routes_["/api"] = [](const RequestInfo&) {
      return json_response(
          200, Json{{"kind", "APIVersions"},
                    {"versions", Json::array({"v1"})},
                    {"serverAddressByClientCIDRs",
                     Json::array({Json{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1"}}})}});
    };
  } else {
    non_resource_routes_["/apis/" + group] = [this, group](const RequestInfo&) {
      return discovery_group(group);
    };
  }
}

const ResourceInfo* ApiServer::find_resource(const std::string& resource) const {
  for (const auto& [key, reg] : resources_) {
    if (reg.strategy->info().resource == resource) return &reg.strategy->info();
  }
  return nullptr;
}

ApiServer::Authenticated ApiServer::authenticate(const ApiRequest& request) const {
  Authenticated a;
  a.user.name = std::string(kAnonymousUser);
  a.user.groups = {"system:unauthenticated"};
  // bearertoken.Authenticator: anything but "Bearer <token>" is not a token and leaves the request
  // anonymous; a token nobody has is a 401.
  const std::string_view header = request.authorization;
  const auto space = header.find(' ');
  if (space == std::string_view::npos) return a;
  std::string scheme(header.substr(0, space));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (scheme != "bearer" || token.empty()) return a;
  if (auto user = tokens_.authenticate(token)) {
    a.user = std::move(*user);
  } else {
    a.token_rejected = true;
  }
  return a;
}

std::string ApiServer::user_name(const ApiRequest& request) const {
  const auto a = authenticate(request);
  return a.token_rejected ? "<invalid-token>" : a.user.name;
}

ApiResponse ApiServer::handle(const ApiRequest& request) {
  const RequestInfo info = parse_request_info(request.method, request.target);
  const auto authn = authenticate(request);
  if (authn.token_rejected) return to_response(unauthorized());

  if (!info.is_resource) {
    if (!is_public_path(info.path) && authn.user.name == kAnonymousUser) {
      return to_response(forbidden_path("User \"" + authn.user.name + "\" cannot " + info.verb + " path \"" +
                                        info.path + "\""));
    }
    const auto route = non_resource_routes_.find(info.path);
    if (route == non_resource_routes_.end()) return to_response(path_not_found());
    if (request.method != "GET" && request.method != "HEAD") return to_response(method_not_allowed());
    return route->second(info);
  }
  return handle_resource(request, info, authn.user);
}

ApiResponse ApiServer::handle_resource(const ApiRequest& request, const RequestInfo& info,
                                       const UserInfo& user) {
  const GroupResource gr{info.group, info.rbac_resource()};
  // Authorization comes first, for any path, before the resource is even looked up (sample 19).
  if (!authorizer_.allowed(user, info.verb, info.rbac_resource(), info.ns)) {
    return to_response(forbidden({info.group, info.resource}, info.name, denial(user, info)));
  }
  const auto it = resources_.find({info.group, info.version, info.resource});
  if (it == resources_.end()) return to_response(path_not_found());
  ResourceHandler& handler = *it->second.handler;
  const ResourceInfo& resource = handler.info();
  if (!info.subresource.empty()) {
    const auto& served = resource.subresources;
    // A subresource takes get, update and patch of one named object only.
    if (std::find(served.begin(), served.end(), info.subresource) == served.end() || info.name.empty()) {
      return to_response(path_not_found());
    }
    if (info.verb != "get" && info.verb != "update" && info.verb != "patch") {
      return to_response(method_not_allowed());
    }
  }
  if (resource.namespaced && info.ns.empty() && info.verb != "list" && info.verb != "watch") {
    return to_response(path_not_found());
  }
  if (info.verb == "watch") return watch(info, resource);
  const auto route = verb_routes_.find(info.verb);
  if (route == verb_routes_.end()) return to_response(method_not_allowed());
  // A POST names no object; a PUT/PATCH/DELETE must.
  const bool names_object = info.verb == "update" || info.verb == "patch" || info.verb == "delete";
  if ((info.verb == "create" && !info.name.empty()) || (names_object && info.name.empty())) {
    return to_response(method_not_allowed());
  }

  RestContext ctx;
  ctx.ns = info.ns;
  ctx.name = info.name;
  ctx.subresource = info.subresource;
  ctx.body = request.body;
  ctx.content_type = media_type(request.content_type);
  ctx.query = info.query;
  ctx.user_agent = request.user_agent;
  ctx.now = clock_();
  ctx.authorize = [this, user, info](const std::string& verb) -> std::optional<ApiError> {
    RequestInfo as = info;
    as.verb = verb;
    if (authorizer_.allowed(user, verb, as.rbac_resource(), as.ns)) return std::nullopt;
    return forbidden({as.group, as.resource}, as.name, denial(user, as));
  };
  const auto outcome = route->second(handler, ctx);
  if (const auto* error = std::get_if<ApiError>(&outcome)) return to_response(*error);
  const auto& result = std::get<RestResult>(outcome);
  return json_response(result.code, result.body);
}

ApiResponse ApiServer::watch(const RequestInfo& info, const ResourceInfo& resource) {
  WatchSpec spec;
  spec.resource = resource.resource;
  spec.ns = info.ns;
  const auto q = [&](const char* key) {
    const auto it = info.query.find(key);
    return it == info.query.end() ? std::string() : it->second;
  };
  std::string error;
  spec.label_selector = q("labelSelector");
  spec.field_selector = q("fieldSelector");
  if (!Selector::parse_labels(spec.label_selector, error) ||
      !Selector::parse_fields(spec.field_selector, error, resource.field_labels)) {
    return to_response(bad_request(error));
  }
  const std::string rv = q("resourceVersion");
  if (rv.empty() || rv == "0") {
    // "Start at most recent": the current state as ADDED events, then changes.
    spec.send_initial = true;
    spec.since = store_.resource_version();
  } else {
    try {
      std::size_t used = 0;
      spec.since = std::stoull(rv, &used);
      if (used != rv.size()) throw std::invalid_argument(rv);
    } catch (const std::exception&) {
      return to_response(bad_request("invalid resource version: " + rv));
    }
  }
  const std::string bm = q("allowWatchBookmarks");
  spec.bookmarks = bm == "true" || bm == "1";
  if (const std::string t = q("timeoutSeconds"); !t.empty()) {
    try {
      spec.timeout_seconds = static_cast<unsigned>(std::stoul(t));
    } catch (const std::exception&) {
      return to_response(bad_request("invalid timeoutSeconds: " + t));
    }
  }
  ApiResponse r;
  r.status = 200;
  r.watch = spec;
  return r;
}

ApiResponse ApiServer::discovery_group_version(const std::string& group, const std::string& version) const {
  Json resources = Json::array();
  for (const auto& [key, reg] : resources_) {
    const auto& info = reg.strategy->info();
    if (info.group != group || info.version != version) continue;
    Json r = Json::object();
    r["name"] = info.resource;
    r["singularName"] = info.singular;
    r["namespaced"] = info.namespaced;
    r["kind"] = info.kind;
    r["verbs"] = info.verbs;
    if (!info.short_names.empty()) r["shortNames"] = info.short_names;
    resources.push_back(std::move(r));
    for (const auto& sub : info.subresources) {
      resources.push_back(Json{{"name", info.resource + "/" + sub},
                               {"singularName", ""},
                               {"namespaced", info.namespaced},
                               {"kind", info.kind},
                               {"verbs", Json::array({"get", "patch", "update"})}});
    }
  }
  Json list = Json::object();
  list["kind"] = "APIResourceList";
  list["apiVersion"] = "v1";
  list["groupVersion"] = group.empty() ? version : group + "/" + version;
  list["resources"] = std::move(resources);
  return json_response(200, list);
}

ApiResponse ApiServer::discovery_group(const std::string& group) const {
  Json versions = Json::array();
  for (const auto& [key, reg] : resources_) {
    const auto& info = reg.strategy->info();
    if (info.group != group) continue;
    const Json v{{"groupVersion", info.api_version()}, {"version", info.version}};
    if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
  }
  if (versions.empty()) return to_response(path_not_found());
  Json g = Json::object();
  g["kind"] = "APIGroup";
  g["apiVersion"] = "v1";
  g["name"] = group;
  g["versions"] = versions;
  g["preferredVersion"] = versions.front();
  return json_response(200, g);
}

ApiResponse ApiServer::discovery_groups() const {
  std::set<std::string> names;
  Json groups = Json::array();
  for (const auto& [key, reg] : resources_) {
    const auto& group = reg.strategy->info().group;
    if (group.empty() || !names.insert(group).second) continue;
    auto g = Json::parse(discovery_group(group).body);
    g.erase("kind");
    g.erase("apiVersion");
    groups.push_back(std::move(g));
  }
  return json_response(200, Json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
}

}  // namespace fake
