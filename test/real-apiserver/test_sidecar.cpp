// The sidecar against a real kube-apiserver: election, release, and both kinds of kubeconfig
// credentials (bearer token; client certificate, which the local API server cannot check).
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
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
