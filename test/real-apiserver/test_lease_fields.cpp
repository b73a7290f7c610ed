// Lease fields newer than the sidecar's schema: kube-apiserver 1.31 added spec.strategy and
// spec.preferredHolder (coordinated leader election; kept on write only while the
// CoordinatedLeaderElection feature gate is on, which test/e2e/control-plane turns on for the
// current version). A sidecar that rebuilt the spec from the fields it knows would erase them on its
// first renewal; it must carry them through its acquire, its renewals and its release.
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

TEST_CASE("lease fields: strategy and preferredHolder stay through our acquire, renewals and release") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  LeaseAdmin admin(plane);
  const std::string lease = "lease-fields-" + std::to_string(::getpid());
  admin.remove(lease);
  const nlohmann::json body{{"apiVersion", "coordination.k8s.io/v1"},
                            {"kind", "Lease"},
                            {"metadata", {{"name", lease}, {"namespace", plane.ns}}},
                            // Free (a client-go release record), with the coordinated-election fields an
                            // operator or a newer controller set.
                            {"spec",
                             {{"holderIdentity", ""},
                              {"leaseDurationSeconds", 1},
                              {"acquireTime", "2024-01-01T00:00:00.000000Z"},
                              {"renewTime", "2024-01-01T00:00:00.000000Z"},
                              {"strategy", "OldestEmulationVersion"},
                              {"preferredHolder", "someone-else"}}}};
  auto created =
      admin.request("POST", "/apis/coordination.k8s.io/v1/namespaces/" + plane.ns + "/leases", body.dump());
  REQUIRE_MESSAGE(created.status == 201, created.body);
  const auto as_created = admin.read(lease);
  const bool kept = as_created["spec"].contains("strategy");
  const std::string kube = std::getenv("REAL_KUBE") ? std::getenv("REAL_KUBE") : "";
  if (!kept) {
    // 1.20 has no such fields and drops them; the current version must keep them (the gate is on).
    REQUIRE_MESSAGE(kube != "current",
                    "the current kube-apiserver dropped spec.strategy: " << as_created.dump());
    MESSAGE("kube-apiserver " << (kube.empty() ? "?" : kube) << " drops spec.strategy and preferredHolder");
    admin.remove(lease);
    return;
  }
  REQUIRE(as_created["spec"]["preferredHolder"] == "someone-else");

  const le::testing::LogDir log_dir("lease-fields");
  auto sidecar = Elector::sidecar(LEASE_ELECTOR_BINARY, "fields-replica", plane.kubeconfig_admin, plane.ns,
                                  lease, ElectorTimings{"2s", "1s", "200ms"}, log_dir.path);
  LeaderSampler sampler({sidecar->leader_url()});
  REQUIRE_MESSAGE(sampler.wait_until_leading(0, steady_clock::now() - 1h, 20s), sidecar->process().log());
  const auto acquired = admin.read(lease);
  CHECK(acquired["spec"]["holderIdentity"] == "fields-replica");
  // Several renewals (every 200 ms), each a write of the whole object.
  std::this_thread::sleep_for(2s);
  const auto renewed = admin.read(lease);
  CHECK(renewed["spec"]["holderIdentity"] == "fields-replica");
  CHECK(renewed["spec"]["renewTime"] != acquired["spec"]["renewTime"]);
  for (const auto* record : {&acquired, &renewed}) {
    CHECK((*record)["spec"]["strategy"] == "OldestEmulationVersion");
    CHECK((*record)["spec"]["preferredHolder"] == "someone-else");
  }

  sidecar->process().signal(SIGTERM);
  CHECK(sidecar->process().wait_for(10s) == 0);
  const auto released = admin.read(lease);
  CHECK(released["spec"].value("holderIdentity", "x") == "");
  CHECK(released["spec"]["strategy"] == "OldestEmulationVersion");
  CHECK(released["spec"]["preferredHolder"] == "someone-else");
  admin.remove(lease);
}
