#include "rest_handler.h"

#include <charconv>

#include "managed_fields.h"
#include "micro_time.h"
#include "object_meta.h"
#include "selectors.h"

namespace fake {
namespace {

template <class T>
bool failed(const std::variant<T, ApiError>& v) {
  return std::holds_alternative<ApiError>(v);
}

std::string meta_string(const Json& object, const char* field) {
  const auto& meta = object["metadata"];
  return meta.contains(field) && meta[field].is_string() ? meta[field].get<std::string>() : "";
}

// APIObjectVersioner.ObjectResourceVersion: "" is 0; anything else must be a decimal uint64.
std::optional<std::uint64_t> parse_rv(const std::string& rv) {
  if (rv.empty()) return 0;
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
  if (ec != std::errc() || p != rv.data() + rv.size()) return std::nullopt;
  return n;
}

ApiError bad_rv(const std::string& rv) {
  // A plain strconv error that reaches the handler is a 500 without a reason upstream.
  return unknown_error(500, "strconv.ParseUint: parsing " + go_quoted(rv) + ": invalid syntax");
}

// What makes a write a real change: everything but the fields the server maintains itself. The
// real server compares the encoded objects and skips the write (no new resourceVersion) if equal.
Json user_content(Json object) {
  auto& meta = object["metadata"];
  for (const char* system :
       {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "generateName"}) {
    meta.erase(system);
  }
  return object;
}

// The object's key in etcd as the real server's storage errors quote it: kube-apiserver's
// --etcd-prefix (default "/registry", which test/e2e/control-plane keeps), the resource's storage
// prefix (DefaultStorageFactory.ResourcePrefix: the plural, as no resource served here is in
// SpecialDefaultResourcePrefixes), then namespace and name (registry.NamespaceKeyFunc; etcd3
// store.GuaranteedUpdate joins the two).
std::string storage_key(const ResourceInfo& info, const std::string& ns, const std::string& name) {
  return "/registry/" + info.resource + (info.namespaced ? "/" + ns : "") + "/" + name;
}

// storage.NewInvalidObjError as StorageError.Error() prints it (apiserver/pkg/storage/errors.go):
// ErrCodeInvalidObj is 4, and that constructor leaves ResourceVersion at 0.
std::string storage_invalid_object(const std::string& key, const std::string& why) {
  return "StorageError: invalid object, Code: 4, Key: " + key +
         ", ResourceVersion: 0, AdditionalErrorMsg: " + why;
}

// A typed list's items carry no kind/apiVersion.
Json as_list_item(const Json& object) {
  Json item = object;
  item.erase("kind");
  item.erase("apiVersion");
  return item;
}

}  // namespace

// kube-apiserver quotes at most 30 bytes of a body it cannot parse, then " ..." (seen on a real
// 1.20 server by test/real-apiserver/test_conformance.cpp).
static std::string excerpt(const std::string& raw) {
  return raw.size() > 30 ? raw.substr(0, 30) + " ..." : raw;
}

std::variant<Json, ApiError> parse_body(const std::string& raw, const std::string& kind) {
  try {
    return Json::parse(raw);
  } catch (const Json::parse_error& e) {
    std::string why;
    // Go's decoder says "unexpected end" for any input that stops early, also inside a string.
    if (std::string_view(e.what()).find("unexpected end of input") != std::string_view::npos ||
        e.byte >= raw.size()) {
      why = "unexpected end of JSON input";
    } else {
      const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
      const char c = at < raw.size() ? raw[at] : ' ';
      why = std::string("invalid character '") + c + "' looking for beginning of value";
    }
    return bad_request("the object provided is unrecognized (must be of type " + kind +
                       "): couldn't get version/kind; json parse error: " + why + " (" + excerpt(raw) + ")");
  }
}

RestOutcome ResourceHandler::get(const RestContext& ctx) const {
  const Json* object = store_.find(info().resource, ctx.ns, ctx.name);
  if (!object) return not_found(info().group_resource(), ctx.name);
  return RestResult{200, *object};
}

RestOutcome ResourceHandler::list(const RestContext& ctx) const {
  std::string error;
  const auto q = [&](const char* key) {
    const auto it = ctx.query.find(key);
    return it == ctx.query.end() ? std::string() : it->second;
  };
  const auto labels = Selector::parse_labels(q("labelSelector"), error);
  if (!labels) return bad_request(error);
  const auto fields = Selector::parse_fields(q("fieldSelector"), error, info().field_labels);
  if (!fields) return bad_request(error);

  Json items = Json::array();
  for (const Json* object : store_.list(info().resource, ctx.ns)) {
    if (labels->matches_labels(*object) && fields->matches_fields(*object, info().field_labels))
      items.push_back(as_list_item(*object));
  }
  Json out = Json::object();
  out["kind"] = info().list_kind;
  out["apiVersion"] = info().api_version();
  out["metadata"] = Json{{"resourceVersion", std::to_string(store_.resource_version())}};
  out["items"] = std::move(items);
  return RestResult{200, std::move(out)};
}

RestOutcome ResourceHandler::create(const RestContext& ctx) {
  auto body = parse_body(ctx.body, info().kind);
  if (failed(body)) return std::get<ApiError>(body);
  auto decoded = strategy_.decode(std::get<Json>(body));
  if (failed(decoded)) return std::get<ApiError>(decoded);
  Json object = std::move(std::get<Json>(decoded));
  auto& meta = object["metadata"];
  // rest.BeforeCreate: an object without a namespace takes the request's; another one is refused.
  if (!meta.contains("namespace")) {
    meta["namespace"] = ctx.ns;
  } else if (meta["namespace"] != ctx.ns) {
    return bad_request(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  return create_decoded(ctx, std::move(object), true);
}

RestOutcome ResourceHandler::create_decoded(const RestContext& ctx, Json object,
                                            bool reject_resource_version) {
  auto& meta = object["metadata"];
  if (!meta.contains("name") && meta.contains("generateName")) {
    meta["name"] = meta["generateName"].get<std::string>() + ids_.name_suffix();
  }
  const std::string body_rv = meta_string(object, "resourceVersion");
  // FillObjectMetaSystemFields: the server, not the client, sets uid and creationTimestamp.
  meta["uid"] = ids_.uuid4();
  meta["creationTimestamp"] = format_rfc3339_seconds(ctx.now);
  const std::string name = meta_string(object, "name");

  if (auto errors = strategy_.validate(object); !errors.empty()) {
    return invalid(info().group, info().kind, name, errors);
  }
  // The etcd3 store refuses a create that names a version, with a plain (500) error; an update
  // that turns into a create does not get here with one (etcd3 store.updateState clears it with
  // APIObjectVersioner.PrepareObjectForStorage: the body's resourceVersion is ignored).
  if (const auto rv = parse_rv(body_rv); reject_resource_version && rv && *rv != 0) {
    return unknown_error(500, "resourceVersion should not be set on objects to be created");
  }
  if (store_.find(info().resource, meta_string(object, "namespace"), name)) {
    return already_exists(info().group_resource(), name);
  }
  object = strategy_.prepare_for_create(std::move(object));
  Json stored = stored_for_write(ctx, std::move(object), nullptr);
  return RestResult{201, store_.write(info().resource, std::move(stored), EventType::Added)};
}

Json ResourceHandler::stored_for_write(const RestContext& ctx, Json object, const Json* old) const {
  auto& meta = object["metadata"];
  meta.erase("generateName");
  meta["resourceVersion"] = "";  // placeholder for the store to fill, in its canonical position
  const auto fm = ctx.query.find("fieldManager");
  const std::string manager = fm != ctx.query.end() ? fm->second : manager_from_user_agent(ctx.user_agent);
  update_managed_fields(object, old, manager, info().api_version(), ctx.now);
  order_object_meta(object["metadata"]);
  return object;
}

RestOutcome ResourceHandler::update(const RestContext& ctx) {
  auto body = parse_body(ctx.body, info().kind);
  if (failed(body)) return std::get<ApiError>(body);
  auto decoded = strategy_.decode(std::get<Json>(body));
  if (failed(decoded)) return std::get<ApiError>(decoded);
  Json object = std::move(std::get<Json>(decoded));

  // handlers/rest.go checkName.
  const std::string body_name = meta_string(object, "name");
  if (body_name != ctx.name) {
    return bad_request("the name of the object (" + body_name + ") does not match the name on the URL (" +
                       ctx.name + ")");
  }
  const std::string body_ns = meta_string(object, "namespace");
  if (!body_ns.empty() && body_ns != ctx.ns) {
    return bad_request("the namespace of the object (" + body_ns +
                       ") does not match the namespace on the request (" + ctx.ns + ")");
  }
  object["metadata"]["namespace"] = ctx.ns;

  const Json* existing = store_.find(info().resource, ctx.ns, ctx.name);
  // 1.37's Store.Update asks GuaranteedUpdate to ignore NotFound only with AllowCreateOnUpdate:
  // a missing Pod or EndpointSlice is 404 before any precondition (KubeVersion).
  if (!existing && !info().allow_create_on_update && version_.not_found_before_uid_precondition) {
    return not_found(info().group_resource(), ctx.name);
  }
  // A uid in the body is a UID precondition (rest.DefaultUpdatedObjectInfo.Preconditions). The
  // etcd3 store checks it first in GuaranteedUpdate (storage.Preconditions.Check), before Store.Update
  // looks at the resourceVersion or at AllowCreateOnUpdate, and a missing object is checked as an
  // empty one: so a PUT with a uid never creates, and (1.20) answers a missing Pod 409, not 404.
  // storeerr.InterpretUpdateError turns the storage error into a Conflict that quotes it.
  if (const std::string uid = meta_string(object, "uid"); !uid.empty()) {
    const std::string stored_uid = existing ? meta_string(*existing, "uid") : "";
    if (uid != stored_uid) {
      return conflict(info().group_resource(), ctx.name,
                      storage_invalid_object(storage_key(info(), ctx.ns, ctx.name),
                                             "Precondition failed: UID in precondition: " + uid +
                                                 ", UID in object meta: " + stored_uid));
    }
  }
  if (!existing) {
    if (!info().allow_create_on_update) return not_found(info().group_resource(), ctx.name);
    // Only without a uid (above). Create on update needs the create permission too
    // (handlers/update.go withAuthorization).
    if (ctx.authorize) {
      if (auto denied = ctx.authorize("create")) return *denied;
    }
    object["metadata"].erase("resourceVersion");
    return create_decoded(ctx, std::move(object), false);
  }
  return update_existing(ctx, std::move(object), *existing);
}

RestOutcome ResourceHandler::update_existing(const RestContext& ctx, Json object, const Json& existing) {
  const std::string body_rv = meta_string(object, "resourceVersion");
  const auto rv = parse_rv(body_rv);
  if (!rv) return bad_rv(body_rv);
  // Leases have no unconditional update (AllowUnconditionalUpdate false): the check and its
  // message come from the generic store, which names the resource, not the kind (sample 07).
  if (*rv == 0 && info().allow_unconditional_update) {
    object["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"];
  } else if (*rv == 0) {
    return invalid(info().group, info().resource, ctx.name,
                   {FieldError::invalid("metadata.resourceVersion", version_.zero_resource_version,
                                        "must be specified for an update")});
  }
  if (meta_string(object, "resourceVersion") != meta_string(existing, "resourceVersion")) {
    return conflict_modified(info().group_resource(), ctx.name);
  }
  object = strategy_.prepare_for_update(std::move(object), existing, ctx.subresource);
  auto& meta = object["metadata"];
  // rest.BeforeUpdate: a missing uid is the stored one; creationTimestamp cannot change.
  if (!meta.contains("uid")) meta["uid"] = existing["metadata"]["uid"];
  meta["creationTimestamp"] = existing["metadata"]["creationTimestamp"];
  if (auto errors = strategy_.validate_update(object, existing); !errors.empty()) {
    return invalid(info().group, info().kind, ctx.name, errors);
  }
  if (user_content(object) == user_content(existing)) {
    // A no-op write is skipped by the storage layer: same object, same resourceVersion.
    return RestResult{200, existing};
  }
  Json stored = stored_for_write(ctx, std::move(object), &existing);
  return RestResult{200, store_.write(info().resource, std::move(stored), EventType::Modified)};
}

RestOutcome ResourceHandler::patch(const RestContext& ctx) {
  const std::string& type = ctx.content_type;
  const bool merge =
      type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json";
  const bool json_patch = type == "application/json-patch+json";
  if (!merge && !json_patch) return unsupported_media_type();

  const Json* existing = store_.find(info().resource, ctx.ns, ctx.name);
  if (!existing) return not_found(info().group_resource(), ctx.name);

  Json patch_doc;
  try {
    patch_doc = Json::parse(ctx.body);
  } catch (const Json::parse_error&) {
    return bad_request("error decoding patch: invalid JSON");
  }
  Json patched = *existing;
  try {
    if (merge) {
      if (!patch_doc.is_object())
        return bad_request("json: cannot unmarshal " + std::string(patch_doc.type_name()) +
                           " into Go value of type map[string]interface {}");
      // The strategy knows the lists with merge keys (a Lease has none: a plain merge patch).
      if (type == "application/strategic-merge-patch+json") {
        patched = strategy_.strategic_merge(patched, patch_doc);
      } else {
        patched.merge_patch(patch_doc);
      }
    } else {
      if (!patch_doc.is_array())
        return bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
      patched = patched.patch(patch_doc);
    }
  } catch (const Json::exception& e) {
    return invalid(info().group, info().kind, ctx.name,
                   {FieldError::invalid("patch", go_quoted(patch_doc.dump()), e.what())});
  }

  auto decoded = strategy_.decode(patched);
  if (failed(decoded)) {
    const auto& err = std::get<ApiError>(decoded);
    return invalid(
        info().group, info().kind, ctx.name,
        {FieldError::invalid("patch", go_quoted(patched.dump()), err.status.value("message", ""))});
  }
  Json object = std::move(std::get<Json>(decoded));
  if (meta_string(object, "name") != ctx.name || meta_string(object, "namespace") != ctx.ns) {
    return bad_request("the name of the object (" + meta_string(object, "name") +
                       ") does not match the name on the URL (" + ctx.name + ")");
  }
  // A patch is unconditional unless it names a resourceVersion itself.
  if (meta_string(object, "resourceVersion").empty()) {
    object["metadata"]["resourceVersion"] = existing->at("metadata").at("resourceVersion");
  }
  return update_existing(ctx, std::move(object), *existing);
}

RestOutcome ResourceHandler::remove(const RestContext& ctx) {
  const Json* existing = store_.find(info().resource, ctx.ns, ctx.name);
  if (!existing) return not_found(info().group_resource(), ctx.name);
  if (!ctx.body.empty()) {
    // DeleteOptions: preconditions on uid and resourceVersion. rest.BeforeDelete checks them
    // first, against the object Store.Delete has just read, and words its own Conflict, which
    // names the Kind ("Lease.coordination.k8s.io"), not the resource.
    auto options = parse_body(ctx.body, "DeleteOptions");
    if (failed(options)) return std::get<ApiError>(options);
    const Json& opts = std::get<Json>(options);
    if (opts.is_object() && opts.contains("preconditions") && opts["preconditions"].is_object()) {
      const auto& pre = opts["preconditions"];
      const std::string uid = meta_string(*existing, "uid");
      const std::string rv = meta_string(*existing, "resourceVersion");
      const GroupResource by_kind{info().group, info().kind};
      if (pre.contains("uid") && pre["uid"].is_string() && pre["uid"] != uid) {
        return conflict(by_kind, ctx.name,
                        "the UID in the precondition (" + pre["uid"].get<std::string>() +
                            ") does not match the UID in record (" + uid +
                            "). The object might have been deleted and then recreated");
      }
      if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() &&
          pre["resourceVersion"] != rv) {
        return conflict(by_kind, ctx.name,
                        "the ResourceVersion in the precondition (" +
                            pre["resourceVersion"].get<std::string>() +
                            ") does not match the ResourceVersion in record (" + rv +
                            "). The object might have been modified");
      }
    }
  }
  const std::string uid = meta_string(*existing, "uid");
  store_.erase(info().resource, ctx.ns, ctx.name);
  // Store.finalizeDelete without ReturnDeletedObject (Leases): a Success Status naming the object.
  Json details = Json::object();
  details["name"] = ctx.name;
  if (!info().group.empty()) details["group"] = info().group;
  details["kind"] = info().resource;
  details["uid"] = uid;
  Json status = Json::object();
  status["kind"] = "Status";
  status["apiVersion"] = "v1";
  status["metadata"] = Json::object();
  status["status"] = "Success";
  status["details"] = std::move(details);
  return RestResult{200, std::move(status)};
}

}  // namespace fake
