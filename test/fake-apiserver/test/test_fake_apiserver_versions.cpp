// The local API server follows the Kubernetes version it is told to imitate (--kube-version): the
// answers where kube-apiserver 1.20 and 1.37 differ. The expected texts are those the real servers
// gave (test/real-apiserver/test_conformance.cpp compares the rest against both).
#include <doctest/doctest.h>

#include "api_server.h"
#include "endpoint_slice_strategy.h"
#include "kube_version.h"
#include "lease_strategy.h"
#include "options.h"
#include "pod_strategy.h"

using fake::ApiResponse;
using fake::Json;

namespace {

const std::string kLeases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
const std::string kPods = "/api/v1/namespaces/default/pods";

struct Server {
  fake::TokenAuthenticator tokens = fake::TokenAuthenticator::with_default_admin();
  fake::Authorizer authorizer = fake::Authorizer::allow_all_authenticated();
  fake::ObjectStore store{100};
  fake::IdGenerator ids{42};
  std::chrono::system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};
  fake::KubeVersion version;
  fake::ApiServer api;

  explicit Server(const std::string& kube_version)
      : version(*fake::kube_version(kube_version)),
        api{tokens, authorizer, store, ids, [this] { return now; }, version} {
    api.add_resource(std::make_unique<fake::LeaseStrategy>(version));
    api.add_resource(std::make_unique<fake::PodStrategy>(version));
    api.add_resource(std::make_unique<fake::EndpointSliceStrategy>("v1", version));
  }
  ApiResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& type = "application/json") {
    fake::ApiRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = type;
    r.authorization = "Bearer admin-token";
    r.user_agent = "curl/7.88.1";
    return api.handle(r);
  }
  std::string message(const ApiResponse& r) { return Json::parse(r.body).value("message", ""); }
};

std::string lease(const std::string& name, const Json& spec, const std::string& rv = "") {
  Json l{{"apiVersion", "coordination.k8s.io/v1"},
         {"kind", "Lease"},
         {"metadata", {{"name", name}}},
         {"spec", spec}};
  if (!rv.empty()) l["metadata"]["resourceVersion"] = rv;
  return l.dump();
}

const Json kPod{{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", "app-0"}, {"labels", {{"app", "demo"}}}}},
                {"spec", {{"containers", Json::array({{{"name", "app"}, {"image", "example/app:1"}}})}}}};

}  // namespace

TEST_CASE("kube versions: 1.20 and 1.37, by minor version or by gitVersion") {
  CHECK(fake::kube_version("1.20")->git_version == "v1.20.2");
  CHECK(fake::kube_version("v1.37.2")->git_version == "v1.37.2");
  CHECK(fake::kube_version("v1.20.5+really1.20.2")->minor == "20");  // Debian's build
  CHECK_FALSE(fake::kube_version("1.21"));
  CHECK_FALSE(fake::kube_version("1.3"));
  CHECK_FALSE(fake::kube_version(""));
  CHECK_FALSE(fake::kube_version("1.37."));

  const auto defaults = std::get<fake::Options>(fake::parse_options({}));
  CHECK(defaults.kube_version == "1.20");
  CHECK(std::get<fake::Options>(fake::parse_options({"--kube-version", "1.37"})).kube_version == "1.37");
  CHECK(std::get<std::string>(fake::parse_options({"--kube-version=1.19"})) ==
        "flag --kube-version: must be one of 1.20, 1.37");
  CHECK(std::string(fake::usage()).find("--kube-version") != std::string::npos);
}

TEST_CASE("GET /version answers the version imitated") {
  CHECK(Json::parse(Server("1.20").call("GET", "/version").body)["gitVersion"] == "v1.20.2");
  const Json v137 = Json::parse(Server("1.37").call("GET", "/version").body);
  CHECK(v137["gitVersion"] == "v1.37.2");
  CHECK(v137["minor"] == "37");
}

TEST_CASE("an update without resourceVersion: %#v of a uint64 0 is 0x0 on 1.20, 0 on 1.37") {
  for (const auto& [version, value] : {std::pair{"1.20", "0x0"}, std::pair{"1.37", "0"}}) {
    CAPTURE(version);
    Server s(version);
    REQUIRE(s.call("POST", kLeases, lease("demo", {{"holderIdentity", "a"}})).status == 201);
    const auto r = s.call("PUT", kLeases + "/demo", lease("demo", {{"holderIdentity", "b"}}));
    CHECK(r.status == 422);
    const std::string cause = std::string("Invalid value: ") + value + ": must be specified for an update";
    CHECK(s.message(r) ==
          "leases.coordination.k8s.io \"demo\" is invalid: metadata.resourceVersion: " + cause);
    CHECK(Json::parse(r.body)["details"]["causes"][0]["message"] == cause);
  }
}

TEST_CASE("decode errors: json-iterator's wording on 1.20, encoding/json's on 1.37") {
  const std::string prefix = "Lease in version \"v1\" cannot be handled as a Lease: ";
  struct Case {
    Json spec;
    Json metadata;
    std::string on_1_20;
    std::string on_1_37;
  };
  const Json name{{"name", "demo"}};
  const std::vector<Case> cases{
      {{{"renewTime", "yesterday"}},
       name,
       "v1.Lease.Spec: v1.LeaseSpec.RenewTime: unmarshalerDecoder: parsing time \"yesterday\" as "
       "\"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"yesterday\" as \"2006\"",
       "parsing time \"yesterday\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"yesterday\" as "
       "\"2006\""},
      {{{"renewTime", "2026-11-24T23:59:00.123456Zab"}},
       name,
       "v1.Lease.Spec: v1.LeaseSpec.RenewTime: unmarshalerDecoder: parsing time "
       "\"2026-11-24T23:59:00.123456Zab\": extra text: \"ab\"",
       "parsing time \"2026-11-24T23:59:00.123456Zab\": extra text: \"ab\""},
      {{{"renewTime", 5}},
       name,
       "v1.Lease.Spec: v1.LeaseSpec.RenewTime: unmarshalerDecoder: json: cannot unmarshal number into Go "
       "value "
       "of type string",
       "json: cannot unmarshal number into Go struct field LeaseSpec.spec.renewTime of type string"},
      {{{"holderIdentity", 5}},
       name,
       "v1.Lease.Spec: v1.LeaseSpec.HolderIdentity: ReadString: expects \" or n, but found 5",
       "json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity of type string"},
      {{{"leaseDurationSeconds", 1.5}},
       name,
       "v1.Lease.Spec: v1.LeaseSpec.LeaseDurationSeconds: readInt32: unexpected value 1.5",
       "json: cannot unmarshal number 1.5 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type "
       "int32"},
      {{{"leaseTransitions", true}},
       name,
       "v1.Lease.Spec: v1.LeaseSpec.LeaseTransitions: readInt32: unexpected value true",
       "json: cannot unmarshal bool into Go struct field LeaseSpec.spec.leaseTransitions of type int32"},
      {"x", name, "v1.Lease.Spec: readObjectStart: expect { or n, but found \"",
       "json: cannot unmarshal string into Go struct field Lease.spec of type v1.LeaseSpec"},
      {Json::object(),
       {{"name", "demo"}, {"labels", {{"a", 1}}}},
       "v1.Lease.ObjectMeta: v1.ObjectMeta.Labels: ReadString: expects \" or n, but found 1",
       "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"},
      {Json::object(),
       {{"name", 5}},
       "v1.Lease.ObjectMeta: v1.ObjectMeta.Name: ReadString: expects \" or n, but found 5",
       "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string"},
      {Json::object(), "x", "v1.Lease.ObjectMeta: readObjectStart: expect { or n, but found \"",
       "json: cannot unmarshal string into Go struct field Lease.metadata of type v1.ObjectMeta"},
  };
  for (const auto& c : cases) {
    Json body{{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata", c.metadata},
              {"spec", c.spec}};
    CAPTURE(body.dump());
    Server v120("1.20");
    Server v137("1.37");
    const auto old_answer = v120.call("POST", kLeases, body.dump());
    const auto new_answer = v137.call("POST", kLeases, body.dump());
    CHECK(old_answer.status == 400);
    CHECK(new_answer.status == 400);
    CHECK(v120.message(old_answer) == prefix + c.on_1_20);
    CHECK(v137.message(new_answer) == prefix + c.on_1_37);
  }
}

TEST_CASE("decode errors of Pods and EndpointSlices, as each real server words them") {
  {
    Server s("1.20");
    Json pod = kPod;
    pod["status"] = {{"conditions", Json::array({{{"status", 5}}})}};
    CHECK(s.message(s.call("POST", kPods, pod.dump())) ==
          "Pod in version \"v1\" cannot be handled as a Pod: v1.Pod.Status: v1.PodStatus.Conditions: "
          "[]v1.PodCondition: v1.PodCondition.Status: ReadString: expects \" or n, but found 5");
    pod["status"] = {{"conditions", Json::array({5})}};
    CHECK(s.message(s.call("POST", kPods, pod.dump())) ==
          "Pod in version \"v1\" cannot be handled as a Pod: v1.Pod.Status: v1.PodStatus.Conditions: "
          "[]v1.PodCondition: readObjectStart: expect { or n, but found 5");
    const Json slice{{"apiVersion", "discovery.k8s.io/v1"},
                     {"kind", "EndpointSlice"},
                     {"metadata", {{"name", "s"}}},
                     {"endpoints", 5}};
    CHECK(s.message(
              s.call("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", slice.dump())) ==
          "EndpointSlice in version \"v1\" cannot be handled as a EndpointSlice: v1.EndpointSlice.Endpoints: "
          "[]v1.Endpoint: decode slice: expect [ or n, but found 5");
  }
  Server s("1.37");
  Json pod = kPod;
  pod["status"] = {{"conditions", Json::array({{{"status", 5}}})}};
  CHECK(
      s.message(s.call("POST", kPods, pod.dump())) ==
      "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field "
      "PodCondition.status.conditions.status of type v1.ConditionStatus");
  pod["status"] = {{"conditions", Json::object()}};
  CHECK(
      s.message(s.call("POST", kPods, pod.dump())) ==
      "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal object into Go struct field "
      "PodStatus.status.conditions of type []v1.PodCondition");
  // An unknown field of a condition is dropped, whatever its type.
  pod["status"] = {{"conditions", Json::array({{{"type", "x"}, {"status", "True"}, {"bogus", 5}}})}};
  CHECK(s.call("POST", kPods, pod.dump()).status == 201);

  const Json slice{{"apiVersion", "discovery.k8s.io/v1"},
                   {"kind", "EndpointSlice"},
                   {"metadata", {{"name", "s"}}},
                   {"addressType", 5}};
  CHECK(s.message(
            s.call("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", slice.dump())) ==
        "EndpointSlice in version \"v1\" cannot be handled as a EndpointSlice: json: cannot unmarshal number "
        "into "
        "Go struct field EndpointSlice.addressType of type v1.AddressType");
}

TEST_CASE("Lease spec.strategy and spec.preferredHolder: kept and validated on 1.37, dropped on 1.20") {
  const Json spec{
      {"holderIdentity", "pod-a"}, {"preferredHolder", "pod-b"}, {"strategy", "OldestEmulationVersion"}};
  {
    Server s("1.20");
    const auto r = s.call("POST", kLeases, lease("demo", spec));
    REQUIRE(r.status == 201);
    CHECK(Json::parse(r.body)["spec"] == Json{{"holderIdentity", "pod-a"}});
    // Not validated either: they are unknown fields there.
    CHECK(s.call("POST", kLeases, lease("other", {{"strategy", "Bogus"}})).status == 201);
  }
  Server s("1.37");
  const auto r = s.call("POST", kLeases, lease("demo", spec));
  REQUIRE(r.status == 201);
  // In LeaseSpec's field order: after leaseTransitions, strategy then preferredHolder.
  CHECK(Json::parse(r.body)["spec"].dump() ==
        R"({"holderIdentity":"pod-a","strategy":"OldestEmulationVersion","preferredHolder":"pod-b"})");

  const auto invalid = [&](const Json& bad) { return s.message(s.call("POST", kLeases, lease("bad", bad))); };
  const std::string prefix = "Lease.coordination.k8s.io \"bad\" is invalid: ";
  CHECK(invalid({{"strategy", "Bogus"}}) == prefix +
                                                "spec.strategy.strategy: Unsupported value: \"Bogus\": "
                                                "supported values: \"OldestEmulationVersion\"");
  CHECK(invalid({{"preferredHolder", "x"}}) ==
        prefix + "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined");
  CHECK(invalid({{"preferredHolder", "x"}, {"strategy", ""}}) ==
        prefix +
            "[spec.strategy.strategy: Unsupported value: \"\": supported values: \"OldestEmulationVersion\", "
            "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined]");
  CHECK(invalid({{"strategy", "a/b c"}}) ==
        prefix +
            "spec.strategy.strategy: Invalid value: \"a/b c\": name part must consist of alphanumeric "
            "characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  // A strategy with a domain prefix is a custom one: allowed.
  CHECK(s.call("POST", kLeases, lease("custom", {{"strategy", "example.com/mine"}})).status == 201);
  CHECK(s.message(s.call("POST", kLeases, lease("bad", {{"strategy", 5}}))) ==
        "Lease in version \"v1\" cannot be handled as a Lease: json: cannot unmarshal number into Go struct "
        "field "
        "LeaseSpec.spec.strategy of type v1.CoordinatedLeaseStrategy");
}

TEST_CASE("Pods carry metadata.generation on 1.37: 1 on create, kept by metadata and status writes") {
  {
    Server s("1.20");
    const auto r = s.call("POST", kPods, kPod.dump());
    REQUIRE(r.status == 201);
    CHECK_FALSE(Json::parse(r.body)["metadata"].contains("generation"));
  }
  Server s("1.37");
  const auto created = s.call("POST", kPods, kPod.dump());
  REQUIRE(created.status == 201);
  const Json meta = Json::parse(created.body)["metadata"];
  CHECK(meta["generation"] == 1);
  // ObjectMeta's field order: generation between resourceVersion and creationTimestamp.
  std::vector<std::string> keys;
  for (const auto& [k, v] : meta.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"name", "namespace", "uid", "resourceVersion", "generation",
                                         "creationTimestamp", "labels", "managedFields"});
  const auto labelled =
      s.call("PATCH", kPods + "/app-0", R"({"metadata":{"labels":{"x":"y"},"generation":7}})",
             "application/merge-patch+json");
  REQUIRE(labelled.status == 200);
  CHECK(Json::parse(labelled.body)["metadata"]["generation"] == 1);
  const auto status = s.call("PATCH", kPods + "/app-0/status",
                             R"({"status":{"conditions":[{"type":"ready","status":"True"}]}})",
                             "application/strategic-merge-patch+json");
  REQUIRE(status.status == 200);
  CHECK(Json::parse(status.body)["metadata"]["generation"] == 1);
}

TEST_CASE("a PUT with a uid to a missing Pod: 409 UID precondition on 1.20, 404 on 1.37") {
  Json missing = kPod;
  missing["metadata"]["name"] = "gone";
  missing["metadata"]["uid"] = "6fe95d0e-c19d-4a16-bac7-757fc1e0f614";
  Server v120("1.20");
  const auto old_answer = v120.call("PUT", kPods + "/gone", missing.dump());
  CHECK(old_answer.status == 409);
  CHECK(v120.message(old_answer).find("Precondition failed: UID in precondition") != std::string::npos);
  Server v137("1.37");
  const auto new_answer = v137.call("PUT", kPods + "/gone", missing.dump());
  CHECK(new_answer.status == 404);
  CHECK(Json::parse(new_answer.body)["details"] == Json{{"name", "gone"}, {"kind", "pods"}});
  CHECK(v137.message(new_answer) == "pods \"gone\" not found");
  // Leases create on update, so both check the uid first: 409 on both.
  Json lease_with_uid = Json::parse(lease("gone", Json::object()));
  lease_with_uid["metadata"]["uid"] = "6fe95d0e-c19d-4a16-bac7-757fc1e0f614";
  CHECK(v137.call("PUT", kLeases + "/gone", lease_with_uid.dump()).status == 409);
}
