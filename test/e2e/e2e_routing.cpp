// The e2e suite: sidecar processes against a real Kubernetes API server named by E2E_KUBECONFIG
// (kind, minikube, a test cluster, or the local API server to prove the plumbing). It creates what
// it needs in a namespace of its own (Lease, Pods that never run, Service, Role/RoleBinding and a
// ServiceAccount token where the kubeconfig allows), runs every routing mode with handovers, and
// deletes every object it made, one by one. Without E2E_KUBECONFIG it says so and exits 77, which
// CTest reports as skipped.
//
// Pods are created with a schedulerName nobody serves, so they stay Pending on any cluster with
// or without nodes; labels and conditions are all this suite needs of them.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "e2e_cluster.h"
#include "http_client.h"
#include "local_cluster.h"
#include "recording_app.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::e2e::Cluster;
using nlohmann::json;
using Names = std::set<std::string>;

namespace {

Cluster* cluster = nullptr;

enum class Mode { label, gate, endpoints };

const char* to_string(Mode m) {
  return m == Mode::label ? "label" : m == Mode::gate ? "readiness-gate" : "endpoints";
}

std::vector<std::string> mode_flags(Mode m) {
  switch (m) {
    case Mode::label:
      return {"--route", "label", "--pod-selector", "app=e2e"};
    case Mode::gate:
      return {"--route", "readiness-gate", "--pod-selector", "app=e2e"};
    case Mode::endpoints:
      return {"--route", "endpoints", "--service", "web", "--endpoint-ports", "http:8080/TCP"};
  }
  return {};
}

Names routed(Mode m) {
  Names out;
  if (m == Mode::endpoints) {
    const auto slice = cluster->get_json(cluster->slices_path() + "/web-lease-elector");
    if (slice.is_null()) return out;
    for (const auto& e : slice.value("endpoints", json::array())) {
      if (!e.is_object()) continue;
      for (const auto& a : e.value("addresses", json::array())) out.insert(a.get<std::string>());
    }
    return out;
  }
  const json list = cluster->get_json(cluster->pods_path() + "?labelSelector=app%3De2e");
  for (const auto& pod : list.at("items")) {
    const std::string name = pod["metadata"]["name"];
    if (m == Mode::label) {
      if (pod["metadata"].value("labels", json::object()).value("lease-elector.io/leader", "") == "true")
        out.insert(name);
    } else {
      for (const auto& c : pod.value("status", json::object()).value("conditions", json::array())) {
        if (c["type"] == "lease-elector.io/leader" && c["status"] == "True") out.insert(name);
      }
    }
  }
  return out;
}

struct Sampler {
  Mode mode;
  std::size_t max_seen = 0;
  bool wait_for(const Names& expected, milliseconds timeout) {
    const auto until = steady_clock::now() + timeout;
    while (steady_clock::now() < until) {
      const auto now = routed(mode);
      max_seen = std::max(max_seen, now.size());
      if (now == expected) return true;
      std::this_thread::sleep_for(50ms);
    }
    std::string seen;
    for (const auto& n : routed(mode)) seen += n + " ";
    MESSAGE("routed at the timeout: [" << seen << "]");
    return false;
  }
};

std::string expected_name(Mode m, std::size_t i) {
  return m == Mode::endpoints ? Cluster::pod_ip(i) : Cluster::pod_name(i);
}

// Three sidecars, a handover, a second handover right after, then the last one steps down.
void run_mode(Mode mode) {
  MESSAGE("mode " << std::string(to_string(mode)) << " in namespace " << cluster->ns());
  cluster->reset_lease();
  Sampler sampler{mode};
  for (std::size_t i = 0; i < 3; ++i) cluster->start_sidecar(i, mode_flags(mode));
  const auto first = cluster->wait_for_leader(30s);
  REQUIRE(first);
  CHECK(sampler.wait_for({expected_name(mode, *first)}, 30s));
  cluster->stop_sidecar(*first, /*wait=*/false);
  const auto second = cluster->wait_for_leader(30s, first);
  REQUIRE(second);
  cluster->stop_sidecar(*second, false);
  std::size_t third = 0;
  while (third == *first || third == *second) ++third;
  CHECK(sampler.wait_for({expected_name(mode, third)}, 30s));
  CHECK(cluster->wait_exit(*first) == 0);
  CHECK(cluster->wait_exit(*second) == 0);
  cluster->stop_sidecar(third, true);
  CHECK(sampler.wait_for({}, 10s));
  CHECK(sampler.max_seen <= 1);
  CHECK(cluster->split_brain_sweeps() == 0);
}

}  // namespace

TEST_CASE("e2e: label mode, handovers and step-down") { run_mode(Mode::label); }
TEST_CASE("e2e: readiness-gate mode, handovers and step-down") { run_mode(Mode::gate); }
TEST_CASE("e2e: endpoints mode (EndpointSlice version by discovery), handovers and step-down") {
  run_mode(Mode::endpoints);
}
TEST_CASE("e2e: the restricted identity's Role is enough for every mode, and a missing rule is named") {
  if (!cluster->restricted()) {
    MESSAGE("no restricted identity on this server (" << cluster->restricted_note() << "); skipped");
    return;
  }
  // Every mode above already ran as the restricted ServiceAccount. Now one whose Role lacks pods
  // patch: the sidecar says which rule to add, and keeps running.
  cluster->reset_lease();
  cluster->start_sidecar(0, mode_flags(Mode::label), Cluster::Rights::no_pod_patch);
  const auto leader = cluster->wait_for_leader(30s);
  CHECK(leader == std::optional<std::size_t>{0});
  CHECK(cluster->wait_log(0, "add this rule to the Role", 20s));
  CHECK(cluster->sidecar_running(0));
  cluster->stop_sidecar(0, true);
}

// Proxy mode on a real API server, with the Lease's rules alone: the leader's address as stored in
// the Lease's annotation, a follower's proxy forwarding to it, and a handover moving both.
TEST_CASE(
    "e2e: proxy mode with the Lease's rules alone, its annotation as stored, forwarding and a handover") {
  cluster->reset_lease();
  le::testing::RecordingApp apps[] = {le::testing::RecordingApp("app-0"), le::testing::RecordingApp("app-1")};
  const int proxies[] = {le::testing::free_loopback_port(), le::testing::free_loopback_port()};
  for (std::size_t i = 0; i < 2; ++i) {
    cluster->start_sidecar(i,
                           {"--route", "proxy", "--proxy-listen", "127.0.0.1:" + std::to_string(proxies[i]),
                            "--proxy-upstream", apps[i].address()},
                           Cluster::Rights::lease_only, {"POD_IP=127.0.0.1"});
  }
  const auto first = cluster->wait_for_leader(30s);
  REQUIRE(first);
  const std::size_t other = 1 - *first;
  const auto annotation_of = [] {
    const json lease =
        cluster->get_json("/apis/coordination.k8s.io/v1/namespaces/" + cluster->ns() + "/leases/e2e-routing");
    const auto annotations = lease["metadata"].value("annotations", json::object());
    const auto text = annotations.value("lease-elector.io/leader-address", std::string{});
    return std::pair{lease, text.empty() ? json{} : json::parse(text)};
  };
  auto [lease, annotation] = annotation_of();
  CHECK(annotation.value("holderIdentity", "") == lease["spec"]["holderIdentity"]);
  CHECK(annotation.value("acquireTime", "") == lease["spec"]["acquireTime"]);
  CHECK(annotation.value("address", "") == "127.0.0.1:" + std::to_string(proxies[*first]));

  le::testing::HttpClient client;
  const std::string url = "http://127.0.0.1:" + std::to_string(proxies[other]) + "/hello";
  auto answer = client.get(url);
  // The follower may not have seen the Lease yet: it says 503 until then.
  for (int i = 0; i < 100 && answer.status == 503; ++i) {
    std::this_thread::sleep_for(50ms);
    answer = client.get(url);
  }
  CHECK(answer.status == 200);
  CHECK(answer.body.rfind("app-" + std::to_string(*first) + " ", 0) == 0);

  cluster->stop_sidecar(*first, /*wait=*/true);
  const auto second = cluster->wait_for_leader(30s, first);
  REQUIRE(second == std::optional<std::size_t>{other});
  std::tie(lease, annotation) = annotation_of();
  CHECK(annotation.value("address", "") == "127.0.0.1:" + std::to_string(proxies[other]));
  CHECK(client.get(url).body.rfind("app-" + std::to_string(other) + " ", 0) == 0);
  cluster->stop_sidecar(other, true);
  CHECK(cluster->split_brain_sweeps() == 0);
}

int main(int argc, char** argv) {
  const char* kubeconfig = std::getenv("E2E_KUBECONFIG");
  if (!kubeconfig || !*kubeconfig) {
    std::cout << "E2E_KUBECONFIG is not set: skipping the e2e suite. Point it at the kubeconfig of a test "
                 "cluster (Kubernetes 1.20 or later) to run it.\n";
    return 77;
  }
  try {
    Cluster real(kubeconfig, LEASE_ELECTOR_BINARY);
    cluster = &real;
    doctest::Context context(argc, argv);
    const int status = context.run();
    real.clean_up();
    cluster = nullptr;
    return status;
  } catch (const std::exception& e) {
    std::cerr << "e2e setup failed: " << e.what() << "\n";
    return 1;
  }
}
