// The Pod and EndpointSlice clients: request shapes (paths, content types, preconditions in the
// patch body), parsing the real server's answers (fixtures 30-35), discovery of the slice version.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "kube/endpoint_slice_client.h"
#include "kube/pod_client.h"
#include "scripted_transport.h"
#include "test_kube_support.h"

using le::kube::HttpResponse;
using le::kube::TransportResult;
using le::kube::testing::answer;
using le::kube::testing::fixture;
using le::kube::testing::ScriptedTransport;
using le::util::ApiErrorKind;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("pod client: label patch is a merge patch with the precondition in the body") {
  auto owned = std::make_unique<ScriptedTransport>();
  auto* t = owned.get();
  le::kube::PodClient client(std::move(owned), "default");
  t->answers.push_back(answer(200, fixture("30-pod-label-merge-patch.json")));
  le::traffic::MetadataPatch patch;
  patch.resource_version = "207";
  patch.labels["lease-elector.io/leader"] = "true";
  patch.annotations["lease-elector.io/fenced-by"] = std::nullopt;
  const auto pod = client.patch_metadata("app-0", patch, 1s);
  REQUIRE(pod.ok());
  CHECK(pod.value().resource_version == "208");
  CHECK(pod.value().labels.at("lease-elector.io/leader") == "true");
  CHECK(t->sent[0].method == "PATCH");
  CHECK(t->sent[0].path == "/api/v1/namespaces/default/pods/app-0");
  CHECK(t->sent[0].content_type == "application/merge-patch+json");
  CHECK(json::parse(t->sent[0].body) ==
        json::parse(R"({"metadata":{"resourceVersion":"207","labels":{"lease-elector.io/leader":"true"},
                        "annotations":{"lease-elector.io/fenced-by":null}}})"));
}

TEST_CASE("pod client: condition patch is a strategic merge patch of pods/status") {
  auto owned = std::make_unique<ScriptedTransport>();
  auto* t = owned.get();
  le::kube::PodClient client(std::move(owned), "default");
  t->answers.push_back(answer(200, fixture("33-pod-status-condition-patch.json")));
  const auto pod =
      client.patch_condition("app-0", std::string("210"),
                             {"lease-elector.io/leader", "True", "", "", "", "2026-11-25T00:02:00Z"}, 1s);
  REQUIRE(pod.ok());
  REQUIRE(pod.value().condition("lease-elector.io/leader"));
  CHECK(pod.value().condition("lease-elector.io/leader")->status == "True");
  CHECK(t->sent[0].path == "/api/v1/namespaces/default/pods/app-0/status");
  CHECK(t->sent[0].content_type == "application/strategic-merge-patch+json");
  const auto body = json::parse(t->sent[0].body);
  CHECK(body["metadata"]["resourceVersion"] == "210");
  CHECK(body["status"]["conditions"][0]["type"] == "lease-elector.io/leader");
  CHECK(body["status"]["conditions"][0]["lastProbeTime"].is_null());
}

TEST_CASE("pod client: list escapes the selector - 404 and 403 become typed errors") {
  auto owned = std::make_unique<ScriptedTransport>();
  auto* t = owned.get();
  le::kube::PodClient client(std::move(owned), "ns1");
  t->answers.push_back(answer(200, R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[)" +
                                       fixture("31-pod-label-remove-merge-patch.json") + "]}"));
  const auto pods = client.list("app=demo,!canary", 1s);
  REQUIRE(pods.ok());
  REQUIRE(pods.value().size() == 1);
  CHECK(t->sent[0].path == "/api/v1/namespaces/ns1/pods?labelSelector=app%3Ddemo%2C%21canary");
  t->answers.push_back(answer(404, fixture("34-pod-missing-patch.json")));
  CHECK(client.get("no-such-pod", 1s).is(ApiErrorKind::not_found));
  t->answers.push_back(answer(403, fixture("35-pod-patch-forbidden.json")));
  const auto denied = client.patch_metadata("app-0", {}, 1s);
  REQUIRE(denied.is(ApiErrorKind::forbidden));
  CHECK(denied.error().message.find("cannot patch resource \"pods\"") != std::string::npos);
  t->answers.push_back(answer(200, "{not json"));
  CHECK(client.get("app-0", 1s).is(ApiErrorKind::malformed_response));
}

TEST_CASE("endpointslice client: discovery picks v1, else v1beta1 - create and conditional update") {
  CHECK(
      le::kube::choose_endpoint_slice_version(
          R"({"kind":"APIGroup","versions":[{"groupVersion":"discovery.k8s.io/v1","version":"v1"},{"groupVersion":"discovery.k8s.io/v1beta1","version":"v1beta1"}]})") ==
      "v1");
  CHECK(
      le::kube::choose_endpoint_slice_version(
          R"({"kind":"APIGroup","versions":[{"groupVersion":"discovery.k8s.io/v1beta1","version":"v1beta1"}]})") ==
      "v1beta1");
  CHECK(le::kube::choose_endpoint_slice_version(R"({"versions":[]})") == std::nullopt);

  auto owned = std::make_unique<ScriptedTransport>();
  auto* t = owned.get();
  le::kube::EndpointSliceClient client(std::move(owned), "default");
  t->answers.push_back(answer(200, R"({"kind":"APIGroup","versions":[{"version":"v1beta1"}]})"));
  const std::string stored =
      R"({"apiVersion":"discovery.k8s.io/v1beta1","kind":"EndpointSlice","metadata":{"name":"web-lease-elector","resourceVersion":"7","labels":{"x":"y"}},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":"app-0"},"topology":{"kubernetes.io/hostname":"n1"}}],"ports":[{"name":"http","port":8080,"protocol":"TCP"}],"extra":1})";
  t->answers.push_back(answer(200, stored));
  const auto got = client.get("web-lease-elector", 1s);
  REQUIRE(got.ok());
  CHECK(client.api_version() == "discovery.k8s.io/v1beta1");
  CHECK(t->sent[1].path ==
        "/apis/discovery.k8s.io/v1beta1/namespaces/default/endpointslices/web-lease-elector");
  CHECK(got.value().addresses == std::vector<std::string>{"10.0.0.1"});
  CHECK(got.value().target_pod == "app-0");
  CHECK(got.value().ports == std::vector<le::traffic::EndpointPort>{{"http", 8080, "TCP"}});
  auto next = got.value();
  next.addresses = {"10.0.0.2"};
  next.target_pod = "app-1";
  t->answers.push_back(answer(200, stored));
  REQUIRE(client.update(next, 1s).ok());
  CHECK(t->sent[2].method == "PUT");
  const auto body = json::parse(t->sent[2].body);
  CHECK(body["metadata"]["resourceVersion"] == "7");
  CHECK(body["metadata"]["labels"]["x"] == "y");
  CHECK(body["extra"] == 1);  // fields it does not own are kept
  CHECK(body["endpoints"][0]["addresses"][0] == "10.0.0.2");
  CHECK(body["endpoints"][0]["targetRef"]["name"] == "app-1");
  CHECK(body["apiVersion"] == "discovery.k8s.io/v1beta1");
}
