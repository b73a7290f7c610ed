#include "event_strategy.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>

#include "decode_errors.h"
#include "micro_time.h"
#include "names.h"
#include "object_meta.h"
#include "strategic_merge.h"

namespace fake {
namespace {

ApiError cannot_handle(const std::string& problem) {
  // runtime's decoding error, "a Event" as it is worded for every kind.
  return bad_request("Event in version \"v1\" cannot be handled as a Event: " + problem);
}

std::string first_char(const Json& v) { return v.dump().substr(0, 1); }

// pkg/apis/core/validation/events.go.
constexpr std::size_t kReportingInstanceLengthLimit = 128;
constexpr std::size_t kActionLengthLimit = 128;
constexpr std::size_t kReasonLengthLimit = 128;
constexpr std::size_t kNoteLengthLimit = 1024;

// What an absent struct reads as.
const Json kAbsent;

// Go's zero MicroTime, which MicroTime.MarshalJSON writes as null.
constexpr const char* kZeroMicroTime = "0001-01-01T00:00:00.000000Z";

// The fields of one Go struct of core/v1 Event, read from its JSON object into the object the
// server stores, in the struct's declaration order. A field of the wrong JSON type is the decoder's
// 400, worded by the version's decoder with where the struct sits: json-iterator names the Go
// types and fields ("v1.Event.Source: v1.EventSource.Component"), encoding/json the innermost
// struct and the JSON path ("EventSource.source.component").
class StructReader {
 public:
  // `in` (the struct's JSON, or null) must outlive the reader.
  StructReader(JsonDecoder decoder, const Json& in, std::string iter_type, std::string go_struct,
               std::string json_prefix)
      : decoder_(decoder),
        in_(in),
        iter_type_(std::move(iter_type)),
        go_struct_(std::move(go_struct)),
        json_prefix_(std::move(json_prefix)) {}

  // A string field; `omitempty` leaves "" out as Go's encoder does, otherwise "" is written.
  std::optional<ApiError> string(const char* field, const char* go_name, Json& out, bool omitempty = true,
                                 const char* go_type = "string") const {
    const Json* v = find(field);
    std::string value;
    if (v) {
      if (!v->is_string()) {
        return type_error(field, go_name, go_type, "ReadString: expects \" or n, but found " + first_char(*v),
                          json_found(*v));
      }
      value = v->get<std::string>();
    }
    if (!omitempty || !value.empty()) out[field] = value;
    return std::nullopt;
  }

  // An int32 field with omitempty.
  std::optional<ApiError> int32(const char* field, const char* go_name, Json& out) const {
    const Json* v = find(field);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() < std::numeric_limits<std::int32_t>::min() ||
        v->get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      // encoding/json quotes a number that does not fit ("number 1.5"), not a value of another type.
      return type_error(field, go_name, "int32", "readInt32: unexpected value " + v->dump(),
                        json_found(*v, true));
    }
    if (v->get<std::int32_t>() != 0) out[field] = v->get<std::int32_t>();
    return std::nullopt;
  }

  // metav1.Time (`micro` false) or metav1.MicroTime: always written, null when unset. Their
  // UnmarshalJSON reads a Go string first and then time.Parse's it; a decoder wraps either error.
  std::optional<ApiError> time(const char* field, const char* go_name, Json& out, bool micro) const {
    out[field] = nullptr;
    const Json* v = find(field);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      return type_error(
          field, go_name, "string",
          "unmarshalerDecoder: json: cannot unmarshal " + json_found(*v) + " into Go value of type string",
          json_found(*v));
    }
    const std::string text = v->get<std::string>();
    const auto unmarshaler_error = [&](const MicroTimeError& e) {
      return cannot_handle(word_unmarshaler_error(decoder_, iter_type_ + "." + go_name, e.message));
    };
    if (micro) {
      auto parsed = normalize_micro_time(text);
      if (auto* e = std::get_if<MicroTimeError>(&parsed)) return unmarshaler_error(*e);
      if (std::get<std::string>(parsed) != kZeroMicroTime) out[field] = std::get<std::string>(parsed);
    } else {
      auto parsed = normalize_time(text);
      if (auto* e = std::get_if<MicroTimeError>(&parsed)) return unmarshaler_error(*e);
      if (const auto& t = std::get<std::optional<std::string>>(parsed)) out[field] = *t;
    }
    return std::nullopt;
  }

  // A nested struct (or a pointer to one): null when absent or null, an error when not an object.
  std::variant<const Json*, ApiError> nested(const char* field, const char* go_name,
                                             const char* go_type) const {
    const Json* v = find(field);
    if (!v) return static_cast<const Json*>(nullptr);
    if (!v->is_object()) {
      return cannot_handle(word(decoder_, {iter_type_ + "." + go_name,
                                           "readObjectStart: expect { or n, but found " + first_char(*v),
                                           go_struct_, json_prefix_ + field, go_type, json_found(*v)}));
    }
    return v;
  }

 private:
  JsonDecoder decoder_;
  const Json& in_;
  std::string iter_type_;
  std::string go_struct_;
  std::string json_prefix_;

  // The field's value; absent and null alike leave the Go zero value.
  const Json* find(const char* field) const {
    if (!in_.is_object()) return nullptr;
    const auto it = in_.find(field);
    return it == in_.end() || it->is_null() ? nullptr : &*it;
  }

  ApiError type_error(const char* field, const char* go_name, const char* go_type,
                      const std::string& iter_problem, const std::string& found) const {
    return cannot_handle(word(decoder_, {iter_type_ + "." + go_name, iter_problem, go_struct_,
                                         json_prefix_ + field, go_type, found}));
  }
};

// core/v1 ObjectReference: every field a string with omitempty, uid of type types.UID.
std::variant<Json, ApiError> decode_reference(JsonDecoder decoder, const Json& in,
                                              const std::string& iter_type, const std::string& json_path) {
  const StructReader r(decoder, in, iter_type + ": v1.ObjectReference", "ObjectReference", json_path + ".");
  Json out = Json::object();
  for (auto error :
       {r.string("kind", "Kind", out), r.string("namespace", "Namespace", out), r.string("name", "Name", out),
        r.string("uid", "UID", out, true, "types.UID"), r.string("apiVersion", "APIVersion", out),
        r.string("resourceVersion", "ResourceVersion", out), r.string("fieldPath", "FieldPath", out)}) {
    if (error) return *error;
  }
  return out;
}

// legacyValidateEvent, the only Event rule for requests through core/v1 (and events.k8s.io/v1beta1).
FieldErrors legacy_validate(const Json& event) {
  FieldErrors errors;
  const std::string ns = event["metadata"].value("namespace", "");
  const std::string involved_ns = event["involvedObject"].value("namespace", "");
  const auto text = [&](const char* field) { return event.value(field, ""); };
  const auto mismatch = [&] {
    errors.push_back(FieldError::invalid("involvedObject.namespace", go_quoted(involved_ns),
                                         "does not match event.namespace"));
  };
  if (event["eventTime"].is_null()) {
    // An "old" Event: the namespaces agree; an involved object without one (cluster-scoped) goes
    // with an Event in "" or, for compatibility with old clients, "default".
    if (involved_ns.empty() ? (!ns.empty() && ns != "default") : ns != involved_ns) mismatch();
  } else {
    // A "new" Event (eventTime set) must say who reported it and what was done.
    if (involved_ns.empty() && ns != "kube-system") mismatch();
    // reportingComponent in JSON, ReportingController in Go: the field path is the Go one.
    const std::string controller = text("reportingComponent");
    if (controller.empty()) errors.push_back(FieldError::required("reportingController", ""));
    for (const auto& message : qualified_name_errors(controller))
      errors.push_back(FieldError::invalid("reportingController", go_quoted(controller), message));
    const auto required_and_limited = [&](const char* field, const char* path, std::size_t limit) {
      const std::string value = text(field);
      if (value.empty()) errors.push_back(FieldError::required(path, ""));
      // The length errors show "" as the value, as the upstream code passes it.
      if (value.size() > limit)
        errors.push_back(
            FieldError::invalid(path, "\"\"", "can have at most " + std::to_string(limit) + " characters"));
    };
    required_and_limited("reportingInstance", "reportingInstance", kReportingInstanceLengthLimit);
    required_and_limited("action", "action", kActionLengthLimit);
    required_and_limited("reason", "reason", kReasonLengthLimit);
    if (text("message").size() > kNoteLengthLimit)
      errors.push_back(FieldError::invalid(
          "message", "\"\"", "can have at most " + std::to_string(kNoteLengthLimit) + " characters"));
  }
  // The Event's own namespace as a DNS-1123 subdomain, at the path "namespace" (sic).
  for (const auto& message : dns1123_subdomain_errors(ns))
    errors.push_back(FieldError::invalid("namespace", go_quoted(ns), message));
  return errors;
}

}  // namespace

EventStrategy::EventStrategy(KubeVersion version) : version_(std::move(version)) {
  info_.group = "";
  info_.version = "v1";
  info_.resource = "events";
  info_.kind = "Event";
  info_.list_kind = "EventList";
  info_.singular = "";
  info_.namespaced = true;
  // eventStrategy.AllowCreateOnUpdate and AllowUnconditionalUpdate: both true.
  info_.allow_create_on_update = true;
  info_.allow_unconditional_update = true;
  info_.verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
  info_.short_names = {"ev"};
  // AddFieldLabelConversionsForEvent (pkg/apis/core/v1/conversion.go) and ToSelectableFields.
  using Labels = FieldLabels;
  info_.field_labels = Labels::converted({
      {"metadata.name", Labels::at("metadata.name")},
      {"metadata.namespace", Labels::at("metadata.namespace")},
      {"involvedObject.kind", Labels::at("involvedObject.kind")},
      {"involvedObject.namespace", Labels::at("involvedObject.namespace")},
      {"involvedObject.name", Labels::at("involvedObject.name")},
      {"involvedObject.uid", Labels::at("involvedObject.uid")},
      {"involvedObject.apiVersion", Labels::at("involvedObject.apiVersion")},
      {"involvedObject.resourceVersion", Labels::at("involvedObject.resourceVersion")},
      {"involvedObject.fieldPath", Labels::at("involvedObject.fieldPath")},
      {"reason", Labels::at("reason")},
      // The core/v1 name of ReportingController.
      {"reportingComponent", Labels::at("reportingComponent")},
      // source.component, or the reporting controller when that is empty.
      {"source",
       [component = Labels::at("source.component"),
        controller = Labels::at("reportingComponent")](const Json& event) {
         std::string source = component(event);
         return source.empty() ? controller(event) : source;
       }},
      {"type", Labels::at("type")},
  });
}

std::variant<Json, ApiError> EventStrategy::decode(const Json& body) const {
  if (!body.is_object()) {
    return bad_request(
        "the object provided is unrecognized (must be of type Event): couldn't get version/kind; "
        "json parse error: json: cannot unmarshal " +
        std::string(body.type_name()) + " into Go value of type struct");
  }
  const std::string kind = body.value("kind", "");
  const std::string api_version = body.value("apiVersion", "");
  if ((!kind.empty() && kind != "Event") || (!api_version.empty() && api_version != "v1")) {
    return bad_request(kind + " in version \"" + api_version + "\" cannot be handled as a Event: no kind \"" +
                       kind + "\" is registered for version \"" + api_version + "\"");
  }
  const JsonDecoder decoder = version_.decoder;
  Json event = Json::object();
  event["kind"] = "Event";
  event["apiVersion"] = "v1";
  std::string problem;
  auto meta = decode_object_meta(body.contains("metadata") ? body["metadata"] : Json(), decoder, "Event",
                                 "v1.Event.ObjectMeta", problem);
  if (!meta) return cannot_handle(problem);
  event["metadata"] = std::move(*meta);

  // The fields in Event's declaration order, as the server writes them: a struct is always written
  // (involvedObject, source: {} when empty; the times: null), a pointer only when set (series,
  // related), strings and count without their zero value, but for reportingComponent and
  // reportingInstance, which have no omitempty.
  const StructReader r(decoder, body, "v1.Event", "Event", "");
  const auto reference = [&](const char* field, const char* go_name,
                             bool pointer) -> std::optional<ApiError> {
    auto in = r.nested(field, go_name, "v1.ObjectReference");
    if (auto* error = std::get_if<ApiError>(&in)) return *error;
    const Json* object = std::get<const Json*>(in);
    if (pointer && !object) return std::nullopt;
    auto decoded =
        decode_reference(decoder, object ? *object : kAbsent, std::string("v1.Event.") + go_name, field);
    if (auto* error = std::get_if<ApiError>(&decoded)) return *error;
    event[field] = std::move(std::get<Json>(decoded));
    return std::nullopt;
  };
  const auto source = [&]() -> std::optional<ApiError> {
    auto in = r.nested("source", "Source", "v1.EventSource");
    if (auto* error = std::get_if<ApiError>(&in)) return *error;
    const Json* object = std::get<const Json*>(in);
    const StructReader s(decoder, object ? *object : kAbsent, "v1.Event.Source: v1.EventSource",
                         "EventSource", "source.");
    Json out = Json::object();
    for (auto error : {s.string("component", "Component", out), s.string("host", "Host", out)}) {
      if (error) return error;
    }
    event["source"] = std::move(out);
    return std::nullopt;
  };
  const auto series = [&]() -> std::optional<ApiError> {
    auto in = r.nested("series", "Series", "v1.EventSeries");
    if (auto* error = std::get_if<ApiError>(&in)) return *error;
    const Json* object = std::get<const Json*>(in);
    if (!object) return std::nullopt;
    const StructReader s(decoder, *object, "v1.Event.Series: v1.EventSeries", "EventSeries", "series.");
    Json out = Json::object();
    for (auto error :
         {s.int32("count", "Count", out), s.time("lastObservedTime", "LastObservedTime", out, true)}) {
      if (error) return error;
    }
    event["series"] = std::move(out);
    return std::nullopt;
  };
  for (const auto& step : std::initializer_list<std::function<std::optional<ApiError>()>>{
           [&] { return reference("involvedObject", "InvolvedObject", false); },
           [&] { return r.string("reason", "Reason", event); },
           [&] { return r.string("message", "Message", event); },
           source,
           [&] { return r.time("firstTimestamp", "FirstTimestamp", event, false); },
           [&] { return r.time("lastTimestamp", "LastTimestamp", event, false); },
           [&] { return r.int32("count", "Count", event); },
           [&] { return r.string("type", "Type", event); },
           [&] { return r.time("eventTime", "EventTime", event, true); },
           series,
           [&] { return r.string("action", "Action", event); },
           [&] { return reference("related", "Related", true); },
           [&] { return r.string("reportingComponent", "ReportingController", event, false); },
           [&] { return r.string("reportingInstance", "ReportingInstance", event, false); },
       }) {
    if (auto error = step()) return *error;
  }
  return event;
}

FieldErrors EventStrategy::validate(const Json& object) const {
  // rest.BeforeCreate: the strategy's errors alone if there are any; only then the generic
  // ValidateObjectMetaAccessor with path.ValidatePathSegmentName.
  auto errors = legacy_validate(object);
  if (!errors.empty()) return errors;
  return validate_object_meta(object["metadata"], true, path_segment_name_errors);
}

FieldErrors EventStrategy::validate_update(const Json& object, const Json& old) const {
  // rest.BeforeUpdate: validateCommonFields (metadata, path-segment names, immutable name,
  // namespace and uid), then ValidateEventUpdate, which for core/v1 is legacyValidateEvent of the
  // new object only (the old one is not compared).
  auto errors = validate_object_meta_update(object["metadata"], old["metadata"], path_segment_name_errors);
  for (auto& e : legacy_validate(object)) errors.push_back(std::move(e));
  return errors;
}

Json EventStrategy::strategic_merge(const Json& original, const Json& patch) const {
  // Event has no list with a patch strategy of its own; ObjectMeta's are these.
  static const MergeKeys keys{{"metadata.finalizers", ""}, {"metadata.ownerReferences", "uid"}};
  return strategic_merge_patch(original, patch, keys);
}

}  // namespace fake
