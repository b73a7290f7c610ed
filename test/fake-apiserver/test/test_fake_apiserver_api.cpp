// The fake API server's request handling, driven without sockets: ApiServer::handle is a plain
// function from request to response. Status bodies are compared field by field with the answers
// captured from a real kube-apiserver 1.20 (test/fixtures/k8s-api-samples).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "api_front.h"
#include "api_server.h"
#include "lease_strategy.h"

using fake::ApiRequest;
using fake::ApiResponse;
using fake::Json;

namespace {

const std::string kLeases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

Json fixture(const std::string& name) {
  std::ifstream in(std::string(LEASE_ELECTOR_FIXTURES_DIR) + "/k8s-api-samples/" + name + ".json");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

// A Status answer matches the captured one in code, reason, message and details.
void check_status_like(const ApiResponse& r, const std::string& fixture_name) {
  const Json expected = fixture(fixture_name);
  const Json actual = Json::parse(r.body);
  CHECK(r.status == expected["code"].get<unsigned>());
  CHECK(actual["kind"] == "Status");
  CHECK(actual["status"] == "Failure");
  CHECK(actual["code"] == expected["code"]);
  CHECK(actual.value("reason", "") == expected.value("reason", ""));
  CHECK(actual["message"] == expected["message"]);
  CHECK(actual.value("details", Json()) == expected.value("details", Json()));
}

struct Server {
  fake::TokenAuthenticator tokens = fake::TokenAuthenticator::with_default_admin();
  fake::Authorizer authorizer = fake::Authorizer::allow_all_authenticated();
  fake::ObjectStore store{100};
  fake::IdGenerator ids{42};
  std::chrono::system_clock::time_point now =
      std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + std::chrono::seconds(77);
  fake::ApiServer api{tokens, authorizer, store, ids, [this] { return now; }};

  Server() {
    tokens.add("elector-token", fake::UserInfo{"elector", "u1", {}});
    tokens.add("nobody-token", fake::UserInfo{"nobody", "u2", {}});
    api.add_resource(std::make_unique<fake::LeaseStrategy>());
  }
  void restrict() {
    auto a = fake::Authorizer::from_json(
        R"({"users":{"elector":{"namespaces":["default"],"resources":{"leases":["get","create","update","patch","watch","list"]}}}})");
    authorizer = std::get<fake::Authorizer>(a);
  }
  ApiResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& token = "admin-token", const std::string& type = "application/json") {
    ApiRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = type;
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.user_agent = "curl/7.88.1";
    return api.handle(r);
  }
};

const std::string kCreateBody = R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
  "metadata":{"name":"demo","labels":{"team":"a"},"annotations":{"note":"kept"}},
  "spec":{"holderIdentity":"pod-a","leaseDurationSeconds":15,"acquireTime":"2026-11-24T23:59:00.123456Z",
          "renewTime":"2026-11-24T23:59:00.123456Z","leaseTransitions":0,"unknownField":true}})";

Json put_body(const Json& current) {
  Json b = current;
  b.erase("status");
  return b;
}

}  // namespace

TEST_CASE("create answers 201 with the stored object shaped like sample 02") {
  Server s;
  const auto r = s.call("POST", kLeases, kCreateBody);
  REQUIRE(r.status == 201);
  const Json got = Json::parse(r.body);
  const Json want = fixture("02-create");
  CHECK(got["kind"] == want["kind"]);
  CHECK(got["apiVersion"] == want["apiVersion"]);
  CHECK(got["spec"] == want["spec"]);  // the unknown spec field is dropped
  CHECK(got["metadata"]["labels"] == want["metadata"]["labels"]);
  CHECK(got["metadata"]["annotations"] == want["metadata"]["annotations"]);
  CHECK(got["metadata"]["managedFields"][0]["fieldsV1"] == want["metadata"]["managedFields"][0]["fieldsV1"]);
  CHECK(got["metadata"]["managedFields"][0]["manager"] == "curl");
  CHECK(got["metadata"]["resourceVersion"] == "1");
  CHECK(got["metadata"]["creationTimestamp"] == "2026-11-25T00:01:17Z");
  CHECK(got["metadata"]["uid"].get<std::string>().size() == 36);
  // Same keys in the same order as the real server writes them.
  std::vector<std::string> got_keys, want_keys;
  for (const auto& [k, v] : got["metadata"].items()) got_keys.push_back(k);
  for (const auto& [k, v] : want["metadata"].items()) want_keys.push_back(k);
  CHECK(got_keys == want_keys);
}

TEST_CASE("errors match the captured Status bodies") {
  Server s;
  check_status_like(s.call("GET", kLeases + "/demo"), "01-get-missing");
  REQUIRE(s.call("POST", kLeases, kCreateBody).status == 201);
  check_status_like(s.call("POST", kLeases, kCreateBody), "03-create-again");

  Json current = Json::parse(s.call("GET", kLeases + "/demo").body);
  Json stale = put_body(current);
  stale["spec"]["renewTime"] = "2026-11-24T23:59:02.654321Z";
  REQUIRE(s.call("PUT", kLeases + "/demo", stale.dump()).status == 200);
  check_status_like(s.call("PUT", kLeases + "/demo", stale.dump()), "06-update-stale-rv");

  Json no_rv = put_body(current);
  no_rv["metadata"].erase("resourceVersion");
  check_status_like(s.call("PUT", kLeases + "/demo", no_rv.dump()), "07-update-no-rv");

  current = Json::parse(s.call("GET", kLeases + "/demo").body);
  Json negative = put_body(current);
  negative["spec"]["leaseDurationSeconds"] = -5;
  check_status_like(s.call("PUT", kLeases + "/demo", negative.dump()), "08-invalid-duration");

  check_status_like(s.call("PUT", kLeases + "/demo", R"({"metadata":{"name":"other"}})"), "14-name-mismatch");
  check_status_like(s.call("PATCH", kLeases + "/demo", "{}", "admin-token", "application/json"),
                    "17-patch-wrong-type");
  check_status_like(s.call("POST", kLeases, R"({"apiVersion":)"), "10-bad-json");
  check_status_like(s.call("GET", kLeases + "/demo", "", ""), "11-no-token");
  check_status_like(s.call("GET", kLeases + "/demo", "", "wrong"), "12-bad-token");
}

TEST_CASE("a bad MicroTime is a 400 whose message starts like sample 09") {
  Server s;
  const auto r =
      s.call("POST", kLeases,
             R"({"metadata":{"name":"demo"},"spec":{"holderIdentity":"x","renewTime":"yesterday"}})");
  CHECK(r.status == 400);
  const Json got = Json::parse(r.body);
  const std::string want = fixture("09-bad-microtime")["message"];
  const std::string prefix = want.substr(0, want.find(", error found in"));
  CHECK(got["reason"] == "BadRequest");
  CHECK(got["message"] == prefix);
}

TEST_CASE("RBAC: denied users get 403 naming user, verb, resource, group and namespace, before validation") {
  Server s;
  s.restrict();
  check_status_like(s.call("GET", kLeases + "/demo", "", "nobody-token"), "13-forbidden");
  check_status_like(s.call("DELETE", kLeases + "/demo", "", "elector-token"), "18-delete");
  check_status_like(
      s.call("GET", "/apis/coordination.k8s.io/v1/namespaces/Bad_NS/leases/x", "", "elector-token"),
      "19-bad-ns-name");
  CHECK(s.call("GET", kLeases + "/demo", "", "elector-token").status == 404);
  CHECK(s.call("GET", kLeases + "/demo", "", "admin-token").status == 404);  // system:masters
  CHECK(s.call("GET", "/apis/coordination.k8s.io/v1/namespaces/other/leases/demo", "", "elector-token")
            .status == 403);
}

TEST_CASE("an update that changes nothing keeps the resourceVersion, a real change bumps it") {
  Server s;
  const Json created = Json::parse(s.call("POST", kLeases, kCreateBody).body);
  auto r = s.call("PUT", kLeases + "/demo", put_body(created).dump());
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body)["metadata"]["resourceVersion"] == "1");
  CHECK(s.store.resource_version() == 1);

  Json changed = put_body(created);
  changed["spec"]["renewTime"] = "2026-11-24T23:59:02.654321Z";
  r = s.call("PUT", kLeases + "/demo", changed.dump());
  CHECK(Json::parse(r.body)["metadata"]["resourceVersion"] == "2");
  // managedFields time stays while the field set is unchanged (sample 05).
  CHECK(Json::parse(r.body)["metadata"]["managedFields"] == created["metadata"]["managedFields"]);

  r = s.call("PATCH", kLeases + "/demo", R"({"metadata":{"labels":{"team":"a"}}})", "admin-token",
             "application/merge-patch+json");
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body)["metadata"]["resourceVersion"] == "2");
}

TEST_CASE("holderIdentity: absent stays absent, empty string stays empty (sample 15)") {
  Server s;
  Json created = Json::parse(s.call("POST", kLeases, kCreateBody).body);
  Json release = put_body(created);
  release["spec"].erase("holderIdentity");
  release["spec"]["leaseDurationSeconds"] = 1;
  Json got = Json::parse(s.call("PUT", kLeases + "/demo", release.dump()).body);
  CHECK_FALSE(got["spec"].contains("holderIdentity"));
  CHECK_FALSE(got["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"].contains("f:holderIdentity"));

  Json empty = put_body(got);
  empty["spec"]["holderIdentity"] = "";
  got = Json::parse(s.call("PUT", kLeases + "/demo", empty.dump()).body);
  CHECK(got["spec"]["holderIdentity"] == "");
}

TEST_CASE("MicroTimes are stored in UTC with six digits, other forms are refused as Go's parser does") {
  Server s;
  auto r = s.call("POST", kLeases,
                  R"({"metadata":{"name":"a"},"spec":{"renewTime":"2021-03-04T07:06:07.000001+02:00"}})");
  REQUIRE(r.status == 201);
  CHECK(Json::parse(r.body)["spec"]["renewTime"] == "2021-03-04T05:06:07.000001Z");
  r = s.call("POST", kLeases, R"({"metadata":{"name":"b"},"spec":{"renewTime":"2021-03-04T05:06:07Z"}})");
  CHECK(r.status == 400);
  CHECK(Json::parse(r.body)["message"].get<std::string>().find("cannot parse \"Z\" as \".000000\"") !=
        std::string::npos);
}

TEST_CASE("create validation and checks") {
  Server s;
  auto r = s.call("POST", kLeases, R"({"spec":{}})");
  CHECK(r.status == 422);
  CHECK(Json::parse(r.body)["details"]["causes"][0]["field"] == "metadata.name");
  r = s.call("POST", kLeases, R"({"metadata":{"name":"Bad_Name"}})");
  CHECK(r.status == 422);
  r = s.call("POST", kLeases, R"({"metadata":{"name":"x","namespace":"other"}})");
  CHECK(r.status == 400);
  CHECK(Json::parse(r.body)["message"] ==
        "the namespace of the provided object does not match the namespace sent on the request");
  r = s.call("POST", kLeases, R"({"metadata":{"name":"x","resourceVersion":"5"}})");
  CHECK(r.status == 500);
  CHECK(Json::parse(r.body)["message"] == "resourceVersion should not be set on objects to be created");
  r = s.call("POST", kLeases,
             R"({"metadata":{"name":"x"},"spec":{"leaseDurationSeconds":0,"leaseTransitions":-1}})");
  CHECK(r.status == 422);
  CHECK(Json::parse(r.body)["details"]["causes"].size() == 2);
  r = s.call("POST", kLeases, R"({"metadata":{"generateName":"gen-"}})");
  CHECK(r.status == 201);
  CHECK(Json::parse(r.body)["metadata"]["name"].get<std::string>().size() == 9);
}

TEST_CASE("PUT of a missing Lease creates it (AllowCreateOnUpdate), needing the create permission") {
  Server s;
  auto r = s.call("PUT", kLeases + "/demo",
                  R"({"metadata":{"name":"demo","resourceVersion":"7"},"spec":{"holderIdentity":"a"}})");
  CHECK(r.status == 201);
  CHECK(Json::parse(r.body)["metadata"]["resourceVersion"] == "1");
  s.restrict();
  auto a = fake::Authorizer::from_json(R"({"users":{"elector":{"resources":{"leases":["update"]}}}})");
  s.authorizer = std::get<fake::Authorizer>(a);
  r = s.call("PUT", kLeases + "/other", R"({"metadata":{"name":"other"}})", "elector-token");
  CHECK(r.status == 403);
  CHECK(Json::parse(r.body)["message"].get<std::string>().find("cannot create resource") !=
        std::string::npos);
}

// kube-apiserver 1.20 turns a uid in an update body into a UID precondition
// (rest.DefaultUpdatedObjectInfo.Preconditions) that the etcd3 store checks before anything else
// (storage.Preconditions.Check in GuaranteedUpdate), a missing object counting as one with no uid;
// Store.Update answers it as a Conflict quoting the storage error (storeerr.InterpretUpdateError).
// ../shared/README.md: a Lease PUT as read after a DELETE answers 409, without the uid it creates.
std::string uid_conflict(const std::string& name, const std::string& body_uid,
                         const std::string& stored_uid) {
  return "Operation cannot be fulfilled on leases.coordination.k8s.io \"" + name +
         "\": StorageError: invalid object, Code: 4, Key: /registry/leases/default/" + name +
         ", ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: " + body_uid +
         ", UID in object meta: " + stored_uid;
}

TEST_CASE("PUT with a uid is a UID precondition: a Lease deleted since it was read is not created again") {
  Server s;
  REQUIRE(s.call("POST", kLeases, kCreateBody).status == 201);
  const Json as_read = Json::parse(s.call("GET", kLeases + "/demo").body);
  const std::string old_uid = as_read["metadata"]["uid"];
  REQUIRE(s.call("DELETE", kLeases + "/demo").status == 200);

  auto r = s.call("PUT", kLeases + "/demo", as_read.dump());
  CHECK(r.status == 409);
  Json status = Json::parse(r.body);
  CHECK(status["reason"] == "Conflict");
  CHECK(status["message"] == uid_conflict("demo", old_uid, ""));
  CHECK(status["details"] == Json{{"name", "demo"}, {"group", "coordination.k8s.io"}, {"kind", "leases"}});
  CHECK(s.call("GET", kLeases + "/demo").status == 404);
  // The precondition fails before the create permission is asked for.
  auto policy = fake::Authorizer::from_json(R"({"users":{"elector":{"resources":{"leases":["update"]}}}})");
  s.authorizer = std::get<fake::Authorizer>(policy);
  CHECK(s.call("PUT", kLeases + "/demo", as_read.dump(), "elector-token").status == 409);
  s.authorizer = fake::Authorizer::allow_all_authenticated();

  // Without the uid the same PUT creates it, its resourceVersion ignored.
  Json no_uid = as_read;
  no_uid["metadata"].erase("uid");
  r = s.call("PUT", kLeases + "/demo", no_uid.dump());
  REQUIRE(r.status == 201);
  const Json recreated = Json::parse(r.body);
  const std::string new_uid = recreated["metadata"]["uid"];
  REQUIRE(new_uid != old_uid);
}

TEST_CASE(
    "PUT with a uid is a UID precondition: another object's uid is a 409 before any resourceVersion check") {
  Server s;
  const Json first = Json::parse(s.call("POST", kLeases, kCreateBody).body);
  REQUIRE(s.call("DELETE", kLeases + "/demo").status == 200);
  const Json current = Json::parse(s.call("POST", kLeases, kCreateBody).body);
  const std::string uid = current["metadata"]["uid"];

  // The deleted Lease's uid with the current resourceVersion, with none, and with a stale one.
  Json other = put_body(current);
  other["metadata"]["uid"] = first["metadata"]["uid"];
  other["spec"]["holderIdentity"] = "pod-b";
  for (const std::string& rv :
       {current["metadata"]["resourceVersion"].get<std::string>(), std::string(), std::string("1")}) {
    CAPTURE(rv);
    if (rv.empty()) {
      other["metadata"].erase("resourceVersion");
    } else {
      other["metadata"]["resourceVersion"] = rv;
    }
    const auto r = s.call("PUT", kLeases + "/demo", other.dump());
    CHECK(r.status == 409);
    CHECK(Json::parse(r.body)["message"] == uid_conflict("demo", first["metadata"]["uid"], uid));
  }
  CHECK(Json::parse(s.call("GET", kLeases + "/demo").body)["spec"]["holderIdentity"] == "pod-a");

  // Its own uid passes the precondition; then the resourceVersion decides as without one.
  Json own = put_body(current);
  own["spec"]["holderIdentity"] = "pod-b";
  own["metadata"]["resourceVersion"] = first["metadata"]["resourceVersion"];
  check_status_like(s.call("PUT", kLeases + "/demo", own.dump()), "06-update-stale-rv");
  own["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"];
  const auto r = s.call("PUT", kLeases + "/demo", own.dump());
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body)["metadata"]["uid"] == uid);
}

TEST_CASE("merge and strategic merge patches, null removes a field") {
  Server s;
  s.call("POST", kLeases, kCreateBody);
  auto r = s.call("PATCH", kLeases + "/demo", R"({"metadata":{"annotations":{"patched":"yes"}}})",
                  "admin-token", "application/merge-patch+json");
  REQUIRE(r.status == 200);
  const Json want = fixture("16-merge-patch");
  CHECK(Json::parse(r.body)["metadata"]["annotations"] == want["metadata"]["annotations"]);
  r = s.call("PATCH", kLeases + "/demo", R"({"spec":{"holderIdentity":null}})", "admin-token",
             "application/strategic-merge-patch+json; charset=utf-8");
  REQUIRE(r.status == 200);
  CHECK_FALSE(Json::parse(r.body)["spec"].contains("holderIdentity"));
  r = s.call("PATCH", kLeases + "/demo",
             R"({"metadata":{"resourceVersion":"1"},"spec":{"holderIdentity":"b"}})", "admin-token",
             "application/merge-patch+json");
  CHECK(r.status == 409);
  r = s.call("PATCH", kLeases + "/missing", "{}", "admin-token", "application/merge-patch+json");
  CHECK(r.status == 404);
  r = s.call("PATCH", kLeases + "/demo", R"([{"op":"replace","path":"/spec/leaseTransitions","value":3}])",
             "admin-token", "application/json-patch+json");
  CHECK(r.status == 200);
  CHECK(Json::parse(r.body)["spec"]["leaseTransitions"] == 3);
}

TEST_CASE("delete answers a Success Status naming the object, preconditions are honoured") {
  Server s;
  const Json created = Json::parse(s.call("POST", kLeases, kCreateBody).body);
  // rest.BeforeDelete words these conflicts itself, naming the Kind.
  auto r = s.call("DELETE", kLeases + "/demo", R"({"preconditions":{"resourceVersion":"99"}})");
  CHECK(r.status == 409);
  CHECK(Json::parse(r.body)["message"] ==
        "Operation cannot be fulfilled on Lease.coordination.k8s.io \"demo\": the ResourceVersion in the "
        "precondition (99) does not match the ResourceVersion in record (1). The object might have been "
        "modified");
  CHECK(Json::parse(r.body)["details"] ==
        Json{{"name", "demo"}, {"group", "coordination.k8s.io"}, {"kind", "Lease"}});
  r = s.call("DELETE", kLeases + "/demo", R"({"preconditions":{"uid":"a-deleted-one"}})");
  CHECK(r.status == 409);
  CHECK(Json::parse(r.body)["message"] ==
        "Operation cannot be fulfilled on Lease.coordination.k8s.io \"demo\": the UID in the precondition "
        "(a-deleted-one) does not match the UID in record (" +
            created["metadata"]["uid"].get<std::string>() +
            "). The object might have been deleted and then recreated");
  r = s.call("DELETE", kLeases + "/demo",
             Json{{"preconditions", {{"uid", created["metadata"]["uid"]}, {"resourceVersion", "1"}}}}.dump());
  CHECK(r.status == 200);
  const Json got = Json::parse(r.body);
  CHECK(got["status"] == "Success");
  CHECK(got["details"]["uid"] == created["metadata"]["uid"]);
  CHECK(got["details"]["kind"] == "leases");
  CHECK(s.call("GET", kLeases + "/demo").status == 404);
  CHECK(s.store.resource_version() == 2);
}

TEST_CASE("list with field and label selectors") {
  Server s;
  s.call("POST", kLeases, R"({"metadata":{"name":"a","labels":{"app":"x"}}})");
  s.call("POST", kLeases, R"({"metadata":{"name":"b","labels":{"app":"y"}}})");
  s.call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
         R"({"metadata":{"name":"c"}})");
  auto list = Json::parse(s.call("GET", kLeases).body);
  CHECK(list["kind"] == "LeaseList");
  CHECK(list["metadata"]["resourceVersion"] == "3");
  CHECK(list["items"].size() == 2);
  CHECK_FALSE(list["items"][0].contains("kind"));
  CHECK(Json::parse(s.call("GET", kLeases + "?fieldSelector=metadata.name%3Db").body)["items"].size() == 1);
  CHECK(Json::parse(s.call("GET", kLeases + "?labelSelector=app%3Dx").body)["items"][0]["metadata"]["name"] ==
        "a");
  CHECK(Json::parse(s.call("GET", kLeases + "?labelSelector=app!%3Dx").body)["items"].size() == 1);
  CHECK(Json::parse(s.call("GET", "/apis/coordination.k8s.io/v1/leases").body)["items"].size() == 3);
  CHECK(s.call("GET", kLeases + "?fieldSelector=spec.holderIdentity%3Da").status == 400);
}

TEST_CASE("non-resource paths: discovery, version, health, unknown") {
  Server s;
  CHECK(s.call("GET", "/healthz", "", "").body == "ok");
  CHECK(Json::parse(s.call("GET", "/version", "", "").body)["gitVersion"] == "v1.20.2");
  const Json rl = Json::parse(s.call("GET", "/apis/coordination.k8s.io/v1").body);
  CHECK(rl["kind"] == "APIResourceList");
  CHECK(rl["resources"][0]["name"] == "leases");
  CHECK(s.call("GET", "/apis/coordination.k8s.io/v1", "", "").status == 403);
  const auto r = s.call("GET", "/nope");
  CHECK(r.status == 404);
  CHECK(Json::parse(r.body)["message"] == "the server could not find the requested resource");
  CHECK(s.call("GET", "/apis/coordination.k8s.io/v1/namespaces/default/widgets").status == 404);
}

TEST_CASE("the store survives a restart through its JSON and resourceVersions keep increasing") {
  Server s;
  s.call("POST", kLeases, kCreateBody);
  s.call("POST", kLeases, R"({"metadata":{"name":"b"}})");
  Server restarted;
  restarted.store.load_json(s.store.to_json());
  CHECK(restarted.call("GET", kLeases + "/demo").status == 200);
  CHECK(restarted.store.resource_version() == 2);
  const auto r = restarted.call("POST", kLeases, R"({"metadata":{"name":"c"}})");
  CHECK(Json::parse(r.body)["metadata"]["resourceVersion"] == "3");
  // A watch from before the restart cannot be resumed.
  CHECK_FALSE(restarted.store.events_since(1).has_value());
  CHECK(restarted.store.events_since(2).has_value());
}

TEST_CASE("watch requests are authorized and described for the streaming layer") {
  Server s;
  auto r = s.call("GET", kLeases +
                             "?watch=true&resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=4&"
                             "fieldSelector=metadata.name%3Ddemo");
  REQUIRE(r.watch.has_value());
  CHECK(r.watch->since == 5);
  CHECK(r.watch->bookmarks);
  CHECK(r.watch->timeout_seconds == 4u);
  CHECK(r.watch->field_selector == "metadata.name=demo");
  s.restrict();
  CHECK(s.call("GET", kLeases + "?watch=1", "", "nobody-token").status == 403);
}

TEST_CASE("a store started at a resourceVersion: watches from before it are too old, as on a real server") {
  Server s;
  s.store.start_at(50);
  CHECK_FALSE(s.store.events_since(1).has_value());
  CHECK(s.store.events_since(50).has_value());
  const auto r = s.call("POST", kLeases, kCreateBody);
  CHECK(Json::parse(r.body)["metadata"]["resourceVersion"] == "51");
}

TEST_CASE("an unparsable body: 'unexpected end' when it stops inside a string, at most 30 bytes quoted") {
  // As kube-apiserver 1.20 answered test/real-apiserver/test_conformance.cpp's truncated body.
  Server s;
  const auto r =
      s.call("POST", kLeases, R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"na)");
  CHECK(r.status == 400);
  CHECK(Json::parse(r.body)["message"] ==
        "the object provided is unrecognized (must be of type Lease): couldn't get version/kind; json parse "
        "error: "
        "unexpected end of JSON input ({\"apiVersion\":\"coordination.k8 ...)");
}

TEST_CASE("faults scoped to one Lease hit its gets, updates and watches, and no other Lease's") {
  Server s;
  fake::FaultRules rules;
  rules.by_name["chaos-1"].drop_rate = 1;
  boost::asio::io_context ioc;
  fake::Stats stats;
  fake::ApiFront front(ioc, s.api, s.store, rules, stats, s.ids,
                       [&s](const std::string& resource) { return s.api.find_resource(resource); });
  const auto kind_of = [&](const std::string& method, const std::string& target) {
    fake::HttpRequest request{boost::beast::http::string_to_verb(method), target, 11};
    request.set(boost::beast::http::field::authorization, "Bearer admin-token");
    std::optional<fake::Reply::Kind> kind;
    front.handle(request, [&](fake::Reply reply) { kind = reply.kind; });
    REQUIRE(kind.has_value());
    return *kind;
  };
  using Kind = fake::Reply::Kind;
  CHECK(kind_of("GET", kLeases + "/chaos-1") == Kind::Drop);
  CHECK(kind_of("PUT", kLeases + "/chaos-1") == Kind::Drop);
  CHECK(kind_of("GET", kLeases + "?fieldSelector=metadata.name%3Dchaos-1&watch=true") == Kind::Drop);
  CHECK(kind_of("GET", kLeases + "/chaos-2") == Kind::Respond);
  CHECK(kind_of("GET", kLeases + "?fieldSelector=metadata.name%3Dchaos-2&watch=true") != Kind::Drop);
  CHECK(kind_of("GET", kLeases) == Kind::Respond);
}
