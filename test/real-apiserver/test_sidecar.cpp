// The sidecar against a real kube-apiserver: election, release, and both kinds of kubeconfig
// credentials (bearer token; client certificate, which the local API server cannot check).
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "real_control_plane.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::Elector;
using le::testing::ElectorTimings;
using le::testing::LeaderSampler;
using le::testing::LeaseAdmin;
using le::testing::LogDir;

namespace {

const ElectorTimings kTimings{"2s", "1s", "200ms"};

std::optional<std::size_t> wait_for_single_leader(LeaderSampler& sampler, milliseconds timeout) {
  const auto until = steady_clock::now() + timeout;
  while (steady_clock::now() < until) {
    if (auto leader = sampler.leader()) return leader;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("sidecar on kube-apiserver: three replicas elect one leader, which releases on SIGTERM") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  LeaseAdmin admin(plane);
  const std::string lease = "sidecar-election-" + std::to_string(::getpid());
  admin.remove(lease);
  LogDir logs("sidecar");
  std::vector<std::unique_ptr<Elector>> replicas;
  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(Elector::sidecar(LEASE_ELECTOR_BINARY, "replica-" + std::to_string(i),
                                        plane.kubeconfig_admin, plane.ns, lease, kTimings, logs.path));
    urls.push_back(replicas.back()->leader_url());
  }
  LeaderSampler sampler(urls);
  auto leader = wait_for_single_leader(sampler, 20s);
  REQUIRE_MESSAGE(leader, replicas[0]->process().log());
  auto record = admin.read(lease);
  CHECK(record["spec"]["holderIdentity"] == replicas[*leader]->identity());
  CHECK(record["spec"]["leaseDurationSeconds"] == 2);
  CHECK(record["spec"]["leaseTransitions"] == 0);

  const auto sent = steady_clock::now();
  replicas[*leader]->process().signal(SIGTERM);
  CHECK(replicas[*leader]->process().wait_for(10s) == 0);
  std::optional<steady_clock::time_point> next;
  for (std::size_t i = 0; i < replicas.size() && !next; ++i) {
    if (i != *leader) next = sampler.wait_until_leading(i, sent, 1ms);
  }
  const auto deadline = steady_clock::now() + 10s;
  while (!next && steady_clock::now() < deadline) {
    for (std::size_t i = 0; i < replicas.size() && !next; ++i) {
      if (i != *leader) next = sampler.wait_until_leading(i, sent, 1ms);
    }
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(next);
  MESSAGE("sidecar handover on SIGTERM: " << duration_cast<milliseconds>(*next - sent).count() << " ms");
  record = admin.read(lease);
  CHECK(record["spec"]["leaseTransitions"] == 1);
  CHECK(sampler.proven_overlaps() == 0);

  // The Events, as kube-apiserver stores them and as kubectl describe lease asks for them (by the
  // Lease's kind, name, namespace and uid). The new leader's may take a moment to be sent.
  const std::string old_id = replicas[*leader]->identity();
  const std::string lease_uid = record["metadata"]["uid"];
  le::testing::HttpClient http;
  http.set_ca_file(plane.ca);
  http.set_bearer_token(plane.token_admin);
  const auto list_events = [&] {
    const auto answer =
        http.get(plane.url + "/api/v1/namespaces/" + plane.ns +
                     "/events?fieldSelector=involvedObject.kind%3DLease%2CinvolvedObject.name%3D" + lease +
                     "%2CinvolvedObject.namespace%3D" + plane.ns + "%2CinvolvedObject.uid%3D" + lease_uid,
                 5000ms);
    REQUIRE_MESSAGE(answer.status == 200, answer.body);
    return nlohmann::json::parse(answer.body)["items"];
  };
  nlohmann::json events;
  std::map<std::string, nlohmann::json> by_message;
  const auto events_until = steady_clock::now() + 10s;
  do {
    events = list_events();
    by_message.clear();
    for (const auto& e : events) by_message[e["message"].get<std::string>()] = e;
    if (by_message.size() >= 3) break;
    std::this_thread::sleep_for(100ms);
  } while (steady_clock::now() < events_until);
  REQUIRE_MESSAGE(by_message.count(old_id + " became leader"), events.dump(2));
  REQUIRE_MESSAGE(by_message.count(old_id + " stopped leading"), events.dump(2));
  CHECK(by_message.size() == 3);  // and the new leader's "became leader"
  for (const auto& [message, e] : by_message) {
    CAPTURE(message);
    CHECK(e["type"] == "Normal");
    CHECK(e["reason"] == "LeaderElection");
    CHECK(e["count"] == 1);
    CHECK(e["involvedObject"]["kind"] == "Lease");
    CHECK(e["involvedObject"]["apiVersion"] == "coordination.k8s.io/v1");
    CHECK(e["involvedObject"]["uid"] == lease_uid);
    CHECK(e["source"]["component"] == "lease-elector");
  }
  MESSAGE("an Event as kube-apiserver stores it: " << by_message[old_id + " became leader"].dump(2));
  // With KUBECTL set (a kubectl binary), what kubectl describe lease shows: the same three.
  if (const char* kubectl = std::getenv("KUBECTL")) {
    const auto described = le::testing::run_command(
        {kubectl, "--kubeconfig", plane.kubeconfig_admin, "-n", plane.ns, "describe", "lease", lease}, 60s);
    MESSAGE("kubectl describe lease " << lease << ":\n" << described.output);
    CHECK(described.status == 0);
    CHECK(described.output.find(old_id + " became leader") != std::string::npos);
    CHECK(described.output.find(old_id + " stopped leading") != std::string::npos);
  }

  // The last ones stop too: the final holder releases, leaving no holder.
  for (auto& replica : replicas) replica->process().signal(SIGTERM);
  for (auto& replica : replicas) replica->process().wait_for(10s);
  record = admin.read(lease);
  CHECK(record["spec"].value("holderIdentity", "") == "");
  admin.remove(lease);
}

TEST_CASE("sidecar on kube-apiserver: a client-certificate user from the kubeconfig") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  REQUIRE(!plane.kubeconfig_cert.empty());
  LeaseAdmin admin(plane);
  // cert-user is bound to the same Role as the restricted user, which names this Lease.
  const std::string lease = plane.restricted_lease;
  admin.recreate_free(lease);
  LogDir logs("sidecar");
  auto sidecar = Elector::sidecar(LEASE_ELECTOR_BINARY, "cert-user-replica", plane.kubeconfig_cert, plane.ns,
                                  lease, kTimings, logs.path);
  LeaderSampler sampler({sidecar->leader_url()});
  REQUIRE_MESSAGE(sampler.wait_until_leading(0, steady_clock::now() - 1h, 20s), sidecar->process().log());
  auto record = admin.read(lease);
  CHECK(record["spec"]["holderIdentity"] == "cert-user-replica");
  // Only cert-user (and the restricted user) may write this Lease; an unauthenticated request
  // would have been refused as system:anonymous, so leading proves the certificate was used.
  CHECK(sidecar->process().log().find("Forbidden") == std::string::npos);
  sidecar->process().signal(SIGTERM);
  CHECK(sidecar->process().wait_for(10s) == 0);
  admin.remove(lease);
}
