// The local API server's Pods and EndpointSlices: what routing relies on, checked against the
// answers of a real kube-apiserver 1.20 (test/fixtures/k8s-api-samples 30-35) and its rules:
// a resourceVersion in a patch body is a precondition, a write that changes nothing keeps the
// resourceVersion, a strategic merge patch of pods/status merges conditions by type.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "api_server.h"
#include "endpoint_slice_strategy.h"
#include "lease_strategy.h"
#include "pod_strategy.h"
#include "strategic_merge.h"

using fake::ApiResponse;
using fake::Json;

namespace {

const std::string kPods = "/api/v1/namespaces/default/pods";
constexpr const char* kMerge = "application/merge-patch+json";
constexpr const char* kStrategic = "application/strategic-merge-patch+json";

Json fixture(const std::string& name) {
  std::ifstream in(std::string(LEASE_ELECTOR_FIXTURES_DIR) + "/k8s-api-samples/" + name + ".json");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

struct Server {
  fake::TokenAuthenticator tokens = fake::TokenAuthenticator::with_default_admin();
  fake::Authorizer authorizer = fake::Authorizer::allow_all_authenticated();
  fake::ObjectStore store{100};
  fake::IdGenerator ids{42};
  std::chrono::system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};
  fake::ApiServer api{tokens, authorizer, store, ids, [this] { return now; }};

  explicit Server(const std::string& slice_version = "v1") {
    tokens.add("elector-token", fake::UserInfo{"elector", "u1", {}});
    tokens.add("nobody-token", fake::UserInfo{"nobody", "u2", {}});
    api.add_resource(std::make_unique<fake::LeaseStrategy>());
    api.add_resource(std::make_unique<fake::PodStrategy>());
    api.add_resource(std::make_unique<fake::EndpointSliceStrategy>(slice_version));
  }
  ApiResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& type = "application/json", const std::string& token = "admin-token") {
    fake::ApiRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = type;
    r.authorization = "Bearer " + token;
    r.user_agent = "curl/7.88.1";
    return api.handle(r);
  }
  Json create_pod(const std::string& name, const Json& labels) {
    const Json pod{{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata", {{"name", name}, {"labels", labels}}},
                   {"spec",
                    {{"containers", Json::array({{{"name", "app"}, {"image", "example/app:1"}}})},
                     {"readinessGates", Json::array({{{"conditionType", "lease-elector.io/leader"}}})}}}};
    const auto r = call("POST", kPods, pod.dump());
    REQUIRE(r.status == 201);
    return Json::parse(r.body);
  }
};

std::string rv_of(const ApiResponse& r) { return Json::parse(r.body)["metadata"]["resourceVersion"]; }

}  // namespace

TEST_CASE("pods: create, get, list by label selector - a new pod is Pending with no node") {
  Server s;
  const Json created = s.create_pod("app-0", {{"app", "demo"}, {"lease-elector.io/leader", "true"}});
  CHECK(created["status"]["phase"] == "Pending");
  s.create_pod("app-1", {{"app", "demo"}});
  s.create_pod("db-0", {{"app", "db"}});
  const auto got = s.call("GET", kPods + "/app-0");
  CHECK(got.status == 200);
  auto list = Json::parse(s.call("GET", kPods + "?labelSelector=app%3Ddemo").body);
  CHECK(list["kind"] == "PodList");
  CHECK(list["items"].size() == 2);
  list =
      Json::parse(s.call("GET", kPods + "?labelSelector=app%3Ddemo,lease-elector.io%2Fleader%3Dtrue").body);
  REQUIRE(list["items"].size() == 1);
  CHECK(list["items"][0]["metadata"]["name"] == "app-0");
  const auto missing_containers = s.call("POST", kPods, R"({"metadata":{"name":"x"},"spec":{}})");
  CHECK(missing_containers.status == 422);
}

TEST_CASE("pods: a created pod gets the real server's defaults - sample 30's spec, as sent plus defaulted") {
  Server s;
  const Json created = s.create_pod("app-0", {{"app", "demo"}});
  const Json real = fixture("30-pod-label-merge-patch");
  // Field order aside (clients do not depend on it).
  const auto unordered = [](const Json& j) { return nlohmann::json::parse(j.dump()); };
  CHECK(unordered(created["spec"]) == unordered(real["spec"]));
  CHECK(unordered(created["status"]) == unordered(real["status"]));
  // What the client sets is kept; "latest" or no tag pulls Always.
  const auto r =
      s.call("POST", kPods,
             R"({"metadata":{"name":"app-1"},"spec":{"schedulerName":"other","restartPolicy":"Never",)"
             R"("containers":[{"name":"a","image":"x/app"},{"name":"b","image":"reg:5000/app:latest"},)"
             R"({"name":"c","image":"app:1","imagePullPolicy":"Never"}]}})");
  REQUIRE(r.status == 201);
  const Json spec = Json::parse(r.body)["spec"];
  CHECK(spec["schedulerName"] == "other");
  CHECK(spec["restartPolicy"] == "Never");
  CHECK(spec["containers"][0]["imagePullPolicy"] == "Always");
  CHECK(spec["containers"][1]["imagePullPolicy"] == "Always");
  CHECK(spec["containers"][2]["imagePullPolicy"] == "Never");
  CHECK(spec["tolerations"].size() == 2);
}

TEST_CASE(
    "pods: label merge patches as sample 30/31, no-op keeps the resourceVersion, stale precondition 409") {
  Server s;
  const Json created = s.create_pod("app-0", {{"app", "demo"}});
  const std::string rv0 = created["metadata"]["resourceVersion"];
  auto r = s.call("PATCH", kPods + "/app-0", R"({"metadata":{"labels":{"lease-elector.io/leader":"true"}}})",
                  kMerge);
  REQUIRE(r.status == 200);
  const Json labelled = Json::parse(r.body);
  CHECK(labelled["metadata"]["labels"] == fixture("30-pod-label-merge-patch")["metadata"]["labels"]);
  const std::string rv1 = labelled["metadata"]["resourceVersion"];
  CHECK(rv1 != rv0);
  // The same patch again changes nothing: same resourceVersion, as the real server skips it.
  r = s.call("PATCH", kPods + "/app-0", R"({"metadata":{"labels":{"lease-elector.io/leader":"true"}}})",
             kMerge);
  CHECK(rv_of(r) == rv1);
  // A precondition on the old version fails with the real server's Conflict.
  r = s.call("PATCH", kPods + "/app-0",
             R"({"metadata":{"resourceVersion":")" + rv0 + R"(","labels":{"lease-elector.io/leader":null}}})",
             kMerge);
  CHECK(r.status == 409);
  const Json status = Json::parse(r.body);
  CHECK(status["reason"] == "Conflict");
  CHECK(status["message"] ==
        "Operation cannot be fulfilled on pods \"app-0\": the object has been modified; please apply your "
        "changes to "
        "the latest version and try again");
  // With the current version it applies, and removes the label as sample 31 shows.
  r = s.call("PATCH", kPods + "/app-0",
             R"({"metadata":{"resourceVersion":")" + rv1 + R"(","labels":{"lease-elector.io/leader":null}}})",
             kMerge);
  REQUIRE(r.status == 200);
  CHECK(Json::parse(r.body)["metadata"]["labels"] ==
        fixture("31-pod-label-remove-merge-patch")["metadata"]["labels"]);
  // A strategic merge patch of labels works the same (sample 32).
  r = s.call("PATCH", kPods + "/app-0", R"({"metadata":{"labels":{"lease-elector.io/leader":"true"}}})",
             kStrategic);
  CHECK(Json::parse(r.body)["metadata"]["labels"] ==
        fixture("32-pod-label-strategic-patch")["metadata"]["labels"]);
  // JSON patch, too.
  r = s.call("PATCH", kPods + "/app-0",
             R"([{"op":"remove","path":"/metadata/labels/lease-elector.io~1leader"}])",
             "application/json-patch+json");
  CHECK(r.status == 200);
  CHECK_FALSE(Json::parse(r.body)["metadata"]["labels"].contains("lease-elector.io/leader"));
  // Plain JSON is 415, as sample 17 for Leases.
  CHECK(s.call("PATCH", kPods + "/app-0", "{}", "application/json").status == 415);
}

TEST_CASE("pods/status: a strategic merge patch merges conditions by type - the kubelet's stay") {
  Server s;
  s.create_pod("app-0", {{"app", "demo"}});
  // The kubelet's conditions, as a status update would set them.
  auto r = s.call(
      "PATCH", kPods + "/app-0/status",
      R"({"status":{"conditions":[{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-25T00:00:00Z"},
                      {"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-25T00:00:00Z"}]}})",
      kStrategic);
  REQUIRE(r.status == 200);
  const std::string rv = rv_of(r);
  r = s.call(
      "PATCH", kPods + "/app-0/status",
      R"({"metadata":{"resourceVersion":")" + rv +
          R"("},"status":{"conditions":[{"type":"lease-elector.io/leader","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-25T00:02:00Z"}]}})",
      kStrategic);
  REQUIRE(r.status == 200);
  Json pod = Json::parse(r.body);
  REQUIRE(pod["status"]["conditions"].size() == 3);
  CHECK(pod["status"]["conditions"][2] ==
        fixture("33-pod-status-condition-patch")["status"]["conditions"][0]);
  // The same entry again, False now: merged in place.
  r = s.call("PATCH", kPods + "/app-0/status",
             R"({"status":{"conditions":[{"type":"lease-elector.io/leader","status":"False"}]}})",
             kStrategic);
  pod = Json::parse(r.body);
  REQUIRE(pod["status"]["conditions"].size() == 3);
  CHECK(pod["status"]["conditions"][2]["status"] == "False");
  CHECK(pod["status"]["conditions"][0]["type"] == "Ready");
  // A stale precondition on pods/status is a 409 too.
  CHECK(s.call("PATCH", kPods + "/app-0/status", R"({"metadata":{"resourceVersion":")" + rv + R"("}})",
               kStrategic)
            .status == 409);
  // A JSON merge patch replaces the whole list: why routing never uses one here.
  r = s.call("PATCH", kPods + "/app-0/status",
             R"({"status":{"conditions":[{"type":"x.io/y","status":"True"}]}})", kMerge);
  CHECK(Json::parse(r.body)["status"]["conditions"].size() == 1);
  // The object's own endpoint cannot change status; pods/status cannot change labels or spec.
  r = s.call("PATCH", kPods + "/app-0", R"({"status":{"phase":"Running"}})", kMerge);
  CHECK(Json::parse(r.body)["status"]["phase"] == "Pending");
  r = s.call("PATCH", kPods + "/app-0/status", R"({"metadata":{"labels":{"sneaky":"yes"}}})", kMerge);
  CHECK_FALSE(Json::parse(r.body)["metadata"]["labels"].contains("sneaky"));
  // A bad condition status is refused.
  CHECK(s.call("PATCH", kPods + "/app-0/status",
               R"({"status":{"conditions":[{"type":"a.io/b","status":"Yes"}]}})", kStrategic)
            .status == 422);
}

TEST_CASE("pods: 404 and 403 Status bodies as the real server's (samples 34, 35)") {
  Server s;
  s.create_pod("app-0", {{"app", "demo"}});
  auto r = s.call("PATCH", kPods + "/no-such-pod", R"({"metadata":{"labels":{"a":"b"}}})", kMerge);
  Json expected = fixture("34-pod-missing-patch");
  CHECK(r.status == 404);
  CHECK(Json::parse(r.body)["message"] == expected["message"]);
  CHECK(Json::parse(r.body)["details"] == expected["details"]);

  auto policy = fake::Authorizer::from_json(
      R"({"users":{"elector":{"namespaces":["default"],"resources":{"pods":["get","list"]}}}})");
  s.authorizer = std::get<fake::Authorizer>(policy);
  r = s.call("PATCH", kPods + "/app-0", R"({"metadata":{"labels":{"a":"b"}}})", kMerge, "nobody-token");
  expected = fixture("35-pod-patch-forbidden");
  CHECK(r.status == 403);
  CHECK(Json::parse(r.body)["message"] == expected["message"]);
  CHECK(Json::parse(r.body)["details"] == expected["details"]);
  // get and list granted, patch of pods/status not: the subresource is its own RBAC resource.
  CHECK(s.call("GET", kPods + "/app-0", "", "", "elector-token").status == 200);
  r = s.call("PATCH", kPods + "/app-0/status", R"({"status":{}})", kStrategic, "elector-token");
  CHECK(r.status == 403);
  CHECK(Json::parse(r.body)["message"] ==
        "pods \"app-0\" is forbidden: User \"elector\" cannot patch resource \"pods/status\" in API group "
        "\"\" in the "
        "namespace \"default\"");
}

// The UID precondition of an update body (rest.DefaultUpdatedObjectInfo.Preconditions) is checked by
// the etcd3 store before Store.Update's NotFound for a strategy without AllowCreateOnUpdate: a PUT
// of a missing Pod with a uid is the storage error's 409, without a uid the 404.
TEST_CASE("pods and endpointslices: a uid in a PUT body is a UID precondition, checked before NotFound") {
  Server s;
  const Json pod = s.create_pod("app-0", {{"app", "demo"}});
  Json gone = pod;
  gone["metadata"]["name"] = "app-1";
  auto r = s.call("PUT", kPods + "/app-1", gone.dump());
  CHECK(r.status == 409);
  Json status = Json::parse(r.body);
  CHECK(status["reason"] == "Conflict");
  CHECK(status["message"] ==
        "Operation cannot be fulfilled on pods \"app-1\": StorageError: invalid object, Code: 4, Key: "
        "/registry/pods/default/app-1, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
        "precondition: " +
            pod["metadata"]["uid"].get<std::string>() + ", UID in object meta: ");
  CHECK(status["details"] == Json{{"name", "app-1"}, {"kind", "pods"}});
  gone["metadata"].erase("uid");
  CHECK(s.call("PUT", kPods + "/app-1", gone.dump()).status == 404);

  const std::string slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
  Json slice{{"apiVersion", "discovery.k8s.io/v1"},
             {"kind", "EndpointSlice"},
             {"metadata", {{"name", "web"}}},
             {"addressType", "IPv4"},
             {"endpoints", Json::array({{{"addresses", {"10.0.0.1"}}}})}};
  REQUIRE(s.call("POST", slices, slice.dump()).status == 201);
  const Json stored = Json::parse(s.call("GET", slices + "/web").body);
  Json other = stored;
  other["metadata"]["uid"] = pod["metadata"]["uid"];
  r = s.call("PUT", slices + "/web", other.dump());
  CHECK(r.status == 409);
  CHECK(Json::parse(r.body)["message"] ==
        "Operation cannot be fulfilled on endpointslices.discovery.k8s.io \"web\": StorageError: invalid "
        "object, Code: 4, Key: /registry/endpointslices/default/web, ResourceVersion: 0, AdditionalErrorMsg: "
        "Precondition failed: UID in precondition: " +
            pod["metadata"]["uid"].get<std::string>() +
            ", UID in object meta: " + stored["metadata"]["uid"].get<std::string>());
  // Its own uid, no resourceVersion: the unconditional update EndpointSlices allow.
  Json own = stored;
  own["metadata"].erase("resourceVersion");
  own["endpoints"][0]["addresses"][0] = "10.0.0.2";
  CHECK(s.call("PUT", slices + "/web", own.dump()).status == 200);
}

TEST_CASE("endpointslices: discovery picks the served version - create, conditional update, validation") {
  for (const std::string version : {"v1", "v1beta1"}) {
    CAPTURE(version);
    Server s(version);
    const Json group = Json::parse(s.call("GET", "/apis/discovery.k8s.io").body);
    REQUIRE(group["versions"].size() == 1);
    CHECK(group["versions"][0]["version"] == version);
    const std::string other = version == "v1" ? "v1beta1" : "v1";
    CHECK(s.call("GET", "/apis/discovery.k8s.io/" + other + "/namespaces/default/endpointslices/x").status ==
          404);

    const std::string slices = "/apis/discovery.k8s.io/" + version + "/namespaces/default/endpointslices";
    Json slice{
        {"apiVersion", "discovery.k8s.io/" + version},
        {"kind", "EndpointSlice"},
        {"metadata", {{"name", "web-lease-elector"}, {"labels", {{"kubernetes.io/service-name", "web"}}}}},
        {"addressType", "IPv4"},
        {"endpoints", Json::array({{{"addresses", {"10.0.0.1"}}, {"conditions", {{"ready", true}}}}})},
        {"ports", Json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}})}};
    auto r = s.call("POST", slices, slice.dump());
    REQUIRE(r.status == 201);
    Json stored = Json::parse(r.body);
    CHECK(stored["metadata"]["generation"] == 1);  // as the real server's
    const std::string rv = stored["metadata"]["resourceVersion"];
    stored["endpoints"][0]["addresses"][0] = "10.0.0.2";
    r = s.call("PUT", slices + "/web-lease-elector", stored.dump());
    CHECK(r.status == 200);
    CHECK(rv_of(r) != rv);
    CHECK(Json::parse(r.body)["metadata"]["generation"] == 2);  // the endpoints changed
    // The old version again: 409.
    CHECK(s.call("PUT", slices + "/web-lease-elector", stored.dump()).status == 409);
    // An address that is not IPv4, and a changed addressType, are 422.
    stored["metadata"]["resourceVersion"] = rv_of(r);
    stored["endpoints"][0]["addresses"][0] = "not-an-ip";
    CHECK(s.call("PUT", slices + "/web-lease-elector", stored.dump()).status == 422);
    stored["endpoints"][0]["addresses"][0] = "10.0.0.3";
    stored["addressType"] = "IPv6";
    CHECK(s.call("PUT", slices + "/web-lease-elector", stored.dump()).status == 422);
  }
}

TEST_CASE("discovery documents for the core group list pods and pods/status") {
  Server s;
  CHECK(Json::parse(s.call("GET", "/api").body)["versions"] == Json::array({"v1"}));
  const Json resources = Json::parse(s.call("GET", "/api/v1").body)["resources"];
  std::vector<std::string> names;
  for (const auto& r : resources) names.push_back(r["name"]);
  CHECK(names == std::vector<std::string>{"pods", "pods/status"});
}

TEST_CASE("strategic merge patch: merge keys, $patch delete, primitive sets, replaced lists, directives") {
  const fake::MergeKeys keys{{"status.conditions", "type"}, {"metadata.finalizers", ""}};
  const Json original = Json::parse(R"({"metadata":{"finalizers":["a"],"labels":{"x":"1","y":"2"}},
    "spec":{"tolerations":[{"key":"k1"}]},
    "status":{"conditions":[{"type":"Ready","status":"True"},{"type":"x.io/y","status":"True","reason":"R"}]}})");
  const Json patch = Json::parse(R"({"metadata":{"finalizers":["b","a"],"labels":{"x":null,"z":"3"}},
    "spec":{"tolerations":[{"key":"k2"}]},
    "$setElementOrder/conditions":[{"type":"Ready"}],
    "status":{"conditions":[{"type":"x.io/y","status":"False"},{"type":"Ready","$patch":"delete"},{"type":"n.io/m","status":"True"}]}})");
  const Json merged = fake::strategic_merge_patch(original, patch, keys);
  CHECK(merged["metadata"]["finalizers"] == Json::array({"a", "b"}));
  CHECK(merged["metadata"]["labels"] == Json::parse(R"({"y":"2","z":"3"})"));
  CHECK(merged["spec"]["tolerations"] == Json::parse(R"([{"key":"k2"}])"));  // no merge key: replaced
  CHECK(
      merged["status"]["conditions"] ==
      Json::parse(R"([{"type":"x.io/y","status":"False","reason":"R"},{"type":"n.io/m","status":"True"}])"));
  CHECK_FALSE(merged.contains("$setElementOrder/conditions"));
}
