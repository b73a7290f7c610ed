// The local API server's core/v1 Events, as kube-apiserver 1.20 serves them to client-go's event
// recorder and to `kubectl describe`: pkg/registry/core/event/strategy.go (create on update,
// unconditional update, ToSelectableFields), pkg/apis/core/validation/events.go
// (legacyValidateEvent, the only rule through core/v1), rest.BeforeCreate's path-segment name rule,
// and the Event field label conversion of pkg/apis/core/v1/conversion.go.
#include <doctest/doctest.h>

#include "api_server.h"
#include "event_strategy.h"
#include "lease_strategy.h"
#include "micro_time.h"
#include "pod_strategy.h"

using fake::ApiResponse;
using fake::Json;

namespace {

const std::string kEvents = "/api/v1/namespaces/default/events";
const std::string kLeases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
constexpr const char* kStrategic = "application/strategic-merge-patch+json";

struct Server {
  fake::TokenAuthenticator tokens = fake::TokenAuthenticator::with_default_admin();
  fake::Authorizer authorizer = fake::Authorizer::allow_all_authenticated();
  fake::ObjectStore store{100};
  fake::IdGenerator ids{42};
  std::chrono::system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2026} / 12 / 3};
  fake::ApiServer api{tokens, authorizer, store, ids, [this] { return now; }};

  Server() {
    tokens.add("recorder-token", fake::UserInfo{"recorder", "u1", {}});
    tokens.add("correlator-token", fake::UserInfo{"correlator", "u2", {}});
    api.add_resource(std::make_unique<fake::LeaseStrategy>());
    api.add_resource(std::make_unique<fake::PodStrategy>());
    api.add_resource(std::make_unique<fake::EventStrategy>());
  }
  ApiResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& type = "application/json", const std::string& token = "admin-token") {
    fake::ApiRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = type;
    r.authorization = "Bearer " + token;
    r.user_agent = "lease-elector/0.1 (linux/amd64)";
    return api.handle(r);
  }
};

// An Event as client-go's recorder (tools/record makeEvent) sends it: named
// "<involved name>.<hex of UnixNano>", count 1, firstTimestamp = lastTimestamp, and the fields Go
// writes at their zero value (eventTime null, empty reportingComponent and reportingInstance).
Json recorder_event(const std::string& name, const std::string& kind, const std::string& involved_name,
                    const std::string& uid, const std::string& ns = "default") {
  return Json{{"kind", "Event"},
              {"apiVersion", "v1"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"creationTimestamp", nullptr}}},
              {"involvedObject",
               {{"kind", kind},
                {"namespace", ns},
                {"name", involved_name},
                {"uid", uid},
                {"apiVersion", kind == "Lease" ? "coordination.k8s.io/v1" : "v1"},
                {"resourceVersion", "189"}}},
              {"reason", "LeaderElection"},
              {"message", "pod-a became leader"},
              {"source", {{"component", "lease-elector"}}},
              {"firstTimestamp", "2026-12-03T22:00:00Z"},
              {"lastTimestamp", "2026-12-03T22:00:00Z"},
              {"count", 1},
              {"type", "Normal"},
              {"eventTime", nullptr},
              {"reportingComponent", ""},
              {"reportingInstance", ""}};
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : object.items()) keys.push_back(k);
  return keys;
}

std::vector<std::string> names_of(const ApiResponse& list) {
  std::vector<std::string> names;
  const Json body = Json::parse(list.body);
  for (const auto& item : body["items"]) names.push_back(item["metadata"]["name"]);
  return names;
}

}  // namespace

TEST_CASE("events: a recorder's Event is created and read back as the server writes it") {
  Server s;
  const Json sent =
      recorder_event("demo.187d9b3c2a1f0e55", "Lease", "demo", "0e4f6c1a-7a7b-4d5c-9a3e-1f2d3c4b5a69");
  auto r = s.call("POST", kEvents, sent.dump());
  REQUIRE(r.status == 201);
  const Json created = Json::parse(r.body);
  // Event's field order, each struct written even when empty, eventTime null, the two strings
  // without omitempty kept as "".
  CHECK(keys_of(created) == std::vector<std::string>{"kind", "apiVersion", "metadata", "involvedObject",
                                                     "reason", "message", "source", "firstTimestamp",
                                                     "lastTimestamp", "count", "type", "eventTime",
                                                     "reportingComponent", "reportingInstance"});
  for (const char* field :
       {"involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type",
        "eventTime", "reportingComponent", "reportingInstance"}) {
    CAPTURE(field);
    CHECK(created[field] == sent[field]);
  }
  const Json& meta = created["metadata"];
  CHECK(keys_of(meta) == std::vector<std::string>{"name", "namespace", "uid", "resourceVersion",
                                                  "creationTimestamp", "managedFields"});
  CHECK(meta["creationTimestamp"] == "2026-12-03T00:00:00Z");
  CHECK(meta["resourceVersion"] == "1");
  // The manager's field set lists the top-level fields set, not those at their zero value.
  const Json fields = created["metadata"]["managedFields"][0]["fieldsV1"];
  CHECK(created["metadata"]["managedFields"][0]["manager"] == "lease-elector");
  CHECK(keys_of(fields) == std::vector<std::string>{"f:count", "f:firstTimestamp", "f:involvedObject",
                                                    "f:lastTimestamp", "f:message", "f:reason", "f:source",
                                                    "f:type"});
  CHECK(fields["f:involvedObject"].contains("f:uid"));

  r = s.call("GET", kEvents + "/demo.187d9b3c2a1f0e55");
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body) == created);
  // Discovery lists them as kubectl expects (shortName ev).
  bool listed = false;
  const Json discovery = Json::parse(s.call("GET", "/api/v1").body);
  for (const auto& resource : discovery["resources"]) {
    if (resource["name"] == "events") {
      listed = true;
      CHECK(resource["kind"] == "Event");
      CHECK(resource["namespaced"] == true);
      CHECK(resource["shortNames"] == Json::array({"ev"}));
    }
  }
  CHECK(listed);
}

TEST_CASE("events: times read as metav1.Time and MicroTime read them, unknown fields dropped") {
  Server s;
  Json sent = recorder_event("x.1", "Lease", "x", "u");
  // time.RFC3339 takes a fraction and an offset; MarshalJSON writes whole seconds in UTC.
  sent["firstTimestamp"] = "2026-12-03T23:00:00.987654+01:00";
  sent["lastTimestamp"] = "0001-01-01T00:00:00Z";  // Go's zero time: written as null
  sent["series"] =
      Json{{"count", 2}, {"lastObservedTime", "2026-12-03T22:00:01.250000Z"}, {"state", "Ongoing"}};
  sent["related"] = Json{{"kind", "Pod"}, {"name", "pod-a"}, {"namespace", ""}};
  sent["unknownField"] = 1;
  sent["involvedObject"]["extra"] = true;
  auto r = s.call("POST", kEvents, sent.dump());
  REQUIRE(r.status == 201);
  const Json created = Json::parse(r.body);
  CHECK(created["firstTimestamp"] == "2026-12-03T22:00:00Z");
  CHECK(created["lastTimestamp"].is_null());
  CHECK(created["series"] == Json{{"count", 2}, {"lastObservedTime", "2026-12-03T22:00:01.250000Z"}});
  CHECK(created["related"] == Json{{"kind", "Pod"}, {"name", "pod-a"}});
  CHECK_FALSE(created.contains("unknownField"));
  CHECK_FALSE(created["involvedObject"].contains("extra"));

  CHECK(std::get<std::optional<std::string>>(fake::normalize_time("2026-12-03T22:00:00,5Z")) ==
        "2026-12-03T22:00:00Z");
  CHECK(std::get<fake::MicroTimeError>(fake::normalize_time("2026-12-03T22:00:00")).message ==
        R"(parsing time "2026-12-03T22:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00")");

  // Type errors, worded by 1.20's json-iterator.
  const std::string prefix = "Event in version \"v1\" cannot be handled as a Event: ";
  const auto message_of = [&](const std::string& field, const Json& value, const char* in = nullptr) {
    Json body = recorder_event("bad.1", "Lease", "x", "u");
    if (in) {
      body[in][field] = value;
    } else {
      body[field] = value;
    }
    const auto answer = s.call("POST", kEvents, body.dump());
    CHECK(answer.status == 400);
    return Json::parse(answer.body)["message"].get<std::string>();
  };
  CHECK(message_of("count", "2") == prefix + "v1.Event.Count: readInt32: unexpected value \"2\"");
  CHECK(message_of("firstTimestamp", "yesterday") ==
        prefix +
            "v1.Event.FirstTimestamp: unmarshalerDecoder: parsing time \"yesterday\" as "
            "\"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"");
  CHECK(message_of("eventTime", "2026-12-03T22:00:00Z") ==
        prefix +
            "v1.Event.EventTime: unmarshalerDecoder: parsing time \"2026-12-03T22:00:00Z\" as "
            "\"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\"");
  CHECK(message_of("uid", 5, "involvedObject") ==
        prefix + "v1.Event.InvolvedObject: v1.ObjectReference.UID: ReadString: expects \" or n, but found 5");
  CHECK(message_of("source", "x") ==
        prefix + "v1.Event.Source: readObjectStart: expect { or n, but found \"");
}

TEST_CASE("events: the involved object's namespace must be the Event's - 422 from legacyValidateEvent") {
  Server s;
  Json sent = recorder_event("demo.1", "Lease", "demo", "u");
  sent["involvedObject"]["namespace"] = "kube-system";
  auto r = s.call("POST", kEvents, sent.dump());
  CHECK(r.status == 422);
  Json status = Json::parse(r.body);
  CHECK(status["reason"] == "Invalid");
  CHECK(
      status["message"] ==
      "Event \"demo.1\" is invalid: involvedObject.namespace: Invalid value: \"kube-system\": does not match "
      "event.namespace");
  CHECK(status["details"] == Json{{"name", "demo.1"},
                                  {"kind", "Event"},
                                  {"causes", Json::array({{{"reason", "FieldValueInvalid"},
                                                           {"message",
                                                            "Invalid value: \"kube-system\": does not match "
                                                            "event.namespace"},
                                                           {"field", "involvedObject.namespace"}}})}});
  // An involved object without a namespace (cluster-scoped) goes with an Event in "default" (old
  // clients) but not with one in another namespace.
  sent["involvedObject"].erase("namespace");
  CHECK(s.call("POST", kEvents, sent.dump()).status == 201);
  sent["metadata"]["namespace"] = "team-a";
  r = s.call("POST", "/api/v1/namespaces/team-a/events", sent.dump());
  CHECK(r.status == 422);
  CHECK(Json::parse(r.body)["details"]["causes"][0]["message"] ==
        "Invalid value: \"\": does not match event.namespace");
  // A write that breaks it later is refused too (legacy validation of the new object).
  sent = recorder_event("demo.2", "Lease", "demo", "u");
  REQUIRE(s.call("POST", kEvents, sent.dump()).status == 201);
  r = s.call("PATCH", kEvents + "/demo.2", R"({"involvedObject":{"namespace":"other"}})", kStrategic);
  CHECK(r.status == 422);
  CHECK(Json::parse(r.body)["details"]["causes"][0]["field"] == "involvedObject.namespace");
}

TEST_CASE("events: an Event with eventTime needs who reported it, names need only be path segments") {
  Server s;
  Json sent = recorder_event("new.1", "Lease", "demo", "u");
  sent["eventTime"] = "2026-12-03T22:00:00.000000Z";
  sent.erase("reason");
  auto r = s.call("POST", kEvents, sent.dump());
  CHECK(r.status == 422);
  std::vector<std::string> causes;
  const Json status = Json::parse(r.body);
  for (const auto& c : status["details"]["causes"])
    causes.push_back(c["field"].get<std::string>() + " " + c["reason"].get<std::string>());
  CHECK(causes == std::vector<std::string>{
                      "reportingController FieldValueRequired", "reportingController FieldValueInvalid",
                      "reportingController FieldValueInvalid", "reportingInstance FieldValueRequired",
                      "action FieldValueRequired", "reason FieldValueRequired"});
  sent["reportingComponent"] = "lease-elector.io/elector";
  sent["reportingInstance"] = "pod-a";
  sent["action"] = "Acquire";
  sent["reason"] = "LeaderElection";
  r = s.call("POST", kEvents, sent.dump());
  CHECK(r.status == 201);
  CHECK(Json::parse(r.body)["eventTime"] == "2026-12-03T22:00:00.000000Z");

  // Not a DNS subdomain, yet a valid Event name: only ValidatePathSegmentName applies.
  CHECK(s.call("POST", kEvents, recorder_event("Demo_Lease.1", "Lease", "demo", "u").dump()).status == 201);
  r = s.call("POST", kEvents, recorder_event("50%.1", "Lease", "demo", "u").dump());
  CHECK(r.status == 422);
  CHECK(Json::parse(r.body)["message"] ==
        "Event \"50%.1\" is invalid: metadata.name: Invalid value: \"50%.1\": may not contain '%'");
}

TEST_CASE("events: the correlator's strategic merge patch of count and lastTimestamp") {
  Server s;
  auto r = s.call("POST", kEvents, recorder_event("demo.1", "Lease", "demo", "u").dump());
  REQUIRE(r.status == 201);
  const Json created = Json::parse(r.body);
  s.now += std::chrono::seconds(30);
  r = s.call("PATCH", kEvents + "/demo.1",
             R"({"count":2,"lastTimestamp":"2026-12-03T22:00:30Z","message":"pod-a became leader"})",
             kStrategic);
  REQUIRE(r.status == 200);
  const Json patched = Json::parse(r.body);
  CHECK(patched["count"] == 2);
  CHECK(patched["lastTimestamp"] == "2026-12-03T22:00:30Z");
  CHECK(patched["firstTimestamp"] == created["firstTimestamp"]);
  CHECK(patched["involvedObject"] == created["involvedObject"]);
  CHECK(patched["metadata"]["uid"] == created["metadata"]["uid"]);
  CHECK(patched["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]);
  CHECK(Json::parse(s.call("GET", kEvents + "/demo.1").body) == patched);
  // A PUT without resourceVersion overwrites (AllowUnconditionalUpdate); one of a missing name
  // creates it (AllowCreateOnUpdate).
  Json put = patched;
  put["metadata"].erase("resourceVersion");
  put["count"] = 3;
  r = s.call("PUT", kEvents + "/demo.1", put.dump());
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body)["count"] == 3);
  r = s.call("PUT", kEvents + "/demo.2", recorder_event("demo.2", "Lease", "demo", "u").dump());
  CHECK(r.status == 201);
}

TEST_CASE("events: PATCH of a missing Event is 404 NotFound") {
  Server s;
  const auto r = s.call("PATCH", kEvents + "/demo.1", R"({"count":2})", kStrategic);
  CHECK(r.status == 404);
  const Json status = Json::parse(r.body);
  CHECK(status["reason"] == "NotFound");
  CHECK(status["message"] == "events \"demo.1\" not found");
  CHECK(status["details"] == Json{{"name", "demo.1"}, {"kind", "events"}});
}

TEST_CASE("events: a field selector as kubectl describe sends it returns only that object's Events") {
  Server s;
  const std::string uid = "0e4f6c1a-7a7b-4d5c-9a3e-1f2d3c4b5a69";
  REQUIRE(s.call("POST", kEvents, recorder_event("demo.1", "Lease", "demo", uid).dump()).status == 201);
  // Same name, another incarnation of the Lease (another uid); another Lease; a Pod named demo.
  REQUIRE(s.call("POST", kEvents, recorder_event("demo.2", "Lease", "demo", "old-uid").dump()).status == 201);
  REQUIRE(s.call("POST", kEvents, recorder_event("other.1", "Lease", "other", "u3").dump()).status == 201);
  Json pod_event = recorder_event("demo.3", "Pod", "demo", "u4");
  pod_event["type"] = "Warning";
  pod_event["source"] = Json::object();
  pod_event["reportingComponent"] = "kubelet";
  REQUIRE(s.call("POST", kEvents, pod_event.dump()).status == 201);
  REQUIRE(s.call("POST", "/api/v1/namespaces/kube-system/events",
                 recorder_event("demo.4", "Lease", "demo", uid, "kube-system").dump())
              .status == 201);

  const std::string describe =
      "involvedObject.kind%3DLease,involvedObject.name%3Ddemo,involvedObject.namespace%3Ddefault,"
      "involvedObject.uid%3D" +
      uid;
  auto r = s.call("GET", kEvents + "?fieldSelector=" + describe);
  REQUIRE(r.status == 200);
  CHECK(Json::parse(r.body)["kind"] == "EventList");
  CHECK(names_of(r) == std::vector<std::string>{"demo.1"});
  CHECK(names_of(s.call("GET",
                        kEvents + "?fieldSelector=involvedObject.kind%3DLease,involvedObject.name%3Ddemo")) ==
        std::vector<std::string>{"demo.1", "demo.2"});
  // Across namespaces, as kubectl describe lists.
  CHECK(names_of(s.call(
            "GET", "/api/v1/events?fieldSelector=involvedObject.name%3Ddemo,involvedObject.uid%3D" + uid)) ==
        std::vector<std::string>{"demo.1", "demo.4"});
  // The other selectable fields; "source" falls back to the reporting controller.
  CHECK(names_of(s.call("GET", kEvents + "?fieldSelector=type!%3DNormal")) ==
        std::vector<std::string>{"demo.3"});
  CHECK(names_of(s.call("GET", kEvents + "?fieldSelector=source%3Dkubelet")) ==
        std::vector<std::string>{"demo.3"});
  CHECK(names_of(s.call("GET",
                        kEvents + "?fieldSelector=reason%3DLeaderElection,involvedObject.apiVersion%3Dv1")) ==
        std::vector<std::string>{"demo.3"});
  CHECK(names_of(s.call("GET", kEvents + "?fieldSelector=metadata.name%3Dother.1")) ==
        std::vector<std::string>{"other.1"});
  // A watch takes the same selector.
  r = s.call("GET", kEvents + "?watch=true&fieldSelector=" + describe);
  CHECK(r.status == 200);
  REQUIRE(r.watch.has_value());
  CHECK(r.watch->field_selector.find("involvedObject.uid=" + uid) != std::string::npos);
}

TEST_CASE("events: an unsupported field label is 400, worded per kind") {
  Server s;
  auto r = s.call("GET", kEvents + "?fieldSelector=involvedObject.kind%3DLease,spec.foo%3Dx");
  CHECK(r.status == 400);
  Json status = Json::parse(r.body);
  CHECK(status["reason"] == "BadRequest");
  CHECK(status["message"] == "field label not supported: spec.foo");
  CHECK(s.call("GET", kEvents + "?watch=true&fieldSelector=count%3D1").status == 400);
  // Leases keep the default conversion: their own wording, and no Event labels.
  r = s.call("GET", kLeases + "?fieldSelector=involvedObject.kind%3DLease");
  CHECK(r.status == 400);
  CHECK(Json::parse(r.body)["message"] ==
        "\"involvedObject.kind\" is not a known field selector: only \"metadata.name\", "
        "\"metadata.namespace\"");
  CHECK(s.call("GET", kLeases + "?fieldSelector=metadata.name%3Ddemo").status == 200);
}

TEST_CASE("events: RBAC - a Role with create but not patch on events gets 403 on the correlator's PATCH") {
  Server s;
  auto policy = fake::Authorizer::from_json(R"({"users":{
      "recorder":{"namespaces":["default"],"resources":{"events":["create"]}},
      "correlator":{"namespaces":["default"],"resources":{"events":["create","patch"]}}}})");
  REQUIRE(std::holds_alternative<fake::Authorizer>(policy));
  s.authorizer = std::get<fake::Authorizer>(policy);
  auto r = s.call("POST", kEvents, recorder_event("demo.1", "Lease", "demo", "u").dump(), "application/json",
                  "recorder-token");
  CHECK(r.status == 201);
  r = s.call("PATCH", kEvents + "/demo.1", R"({"count":2})", kStrategic, "recorder-token");
  CHECK(r.status == 403);
  const Json status = Json::parse(r.body);
  CHECK(status["message"] ==
        "events \"demo.1\" is forbidden: User \"recorder\" cannot patch resource \"events\" in API group "
        "\"\" in "
        "the namespace \"default\"");
  CHECK(status["details"] == Json{{"name", "demo.1"}, {"kind", "events"}});
  CHECK(s.call("GET", kEvents + "/demo.1", "", "", "recorder-token").status == 403);
  r = s.call("PATCH", kEvents + "/demo.1", R"({"count":2})", kStrategic, "correlator-token");
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body)["count"] == 2);
}
