// Interop with client-go: a lease-elector sidecar and a client-go elector (test/e2e/client-go-peer,
// built against the client-go of Debian's kubernetes 1.20 source) share one Lease on a real
// kube-apiserver. Leadership must pass both ways, on SIGTERM (release) and on SIGKILL (expiry),
// with never two leaders at once, and leaseTransitions must count as client-go counts them.
//
// Timings that keep both sides safe (README, "Sharing a Lease with client-go"): client-go before
// 1.27 judges expiry by its own lease duration (4 s here), which must exceed the sidecar's renew
// deadline (2 s) with margin; client-go's leader keeps leading until its last renew answer + retry
// period + renew deadline (0.5 + 2 s), which must stay below its lease duration, which the sidecar
// reads from the record.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "real_control_plane.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::Elector;
using le::testing::ElectorTimings;
using le::testing::LeaderSampler;
using le::testing::LeaseAdmin;

namespace {

const ElectorTimings kSidecarTimings{"3s", "2s", "500ms"};
const ElectorTimings kClientGoTimings{"4s", "2s", "500ms"};

// Handover times go to a file the CI script prints, as the issue asks them reported.
void record_measurement(const std::string& line) {
  MESSAGE(line);
  const auto& plane = le::testing::real_control_plane_or_skip();
  if (!plane.dir.empty()) std::ofstream(plane.dir + "/measurements.txt", std::ios::app) << line << "\n";
}

struct Pair {
  const le::testing::RealControlPlane& plane = le::testing::real_control_plane_or_skip();
  std::string lease;
  std::string log_dir = le::testing::make_temp_dir("interop");
  LeaseAdmin admin{plane};

  explicit Pair(std::string lease_name) : lease(std::move(lease_name) + "-" + std::to_string(::getpid())) {
    admin.remove(lease);
  }
  ~Pair() {
    try {
      admin.remove(lease);
    } catch (...) {
    }
    if (!std::getenv("LEASE_ELECTOR_KEEP_LOGS")) {
      std::error_code ignored;
      std::filesystem::remove_all(log_dir, ignored);
    }
  }
  std::unique_ptr<Elector> sidecar(const std::string& identity) {
    return Elector::sidecar(LEASE_ELECTOR_BINARY, identity, plane.kubeconfig_admin, plane.ns, lease,
                            kSidecarTimings, log_dir);
  }
  std::unique_ptr<Elector> peer(const std::string& identity) {
    return Elector::client_go_peer(plane, identity, plane.kubeconfig_admin, lease, kClientGoTimings, log_dir);
  }
  std::string holder() { return admin.read(lease)["spec"].value("holderIdentity", ""); }
  int transitions() { return admin.read(lease)["spec"].value("leaseTransitions", -1); }
};

std::string logs(Elector& a, Elector& b) {
  return "--- " + a.identity() + ":\n" + a.process().log() + "\n--- " + b.identity() + ":\n" +
         b.process().log();
}

// Runs one scenario: `first` leads (index 0 of the sampler), the other follows; `stop` is sent to
// the leader; the follower must take over. Returns the handover time (signal to first isLeader).
milliseconds hand_over(Pair& pair, LeaderSampler& sampler, Elector& from, std::size_t from_index, Elector& to,
                       std::size_t to_index, int stop) {
  const int before = pair.transitions();
  const auto sent = steady_clock::now();
  from.process().signal(stop);
  const auto took_over = sampler.wait_until_leading(to_index, sent, 20s);
  REQUIRE_MESSAGE(took_over, "no handover from " << from.identity() << " to " << to.identity() << "\n"
                                                 << logs(from, to));
  if (stop == SIGTERM) {
    // A released Lease: the old leader stops before it releases, and exits cleanly.
    CHECK_MESSAGE(from.process().wait_for(10s) == 0, logs(from, to));
  }
  // client-go counts a transition whenever the holder it replaces is not itself, including after
  // a release (holder ""): one per handover.
  CHECK(pair.holder() == to.identity());
  CHECK(pair.transitions() == before + 1);
  const auto last = sampler.last_leading(from_index);
  if (last) CHECK(*last <= *took_over);
  return duration_cast<milliseconds>(*took_over - sent);
}

void run_both_ways(const std::string& lease_name, int stop) {
  Pair pair(lease_name);
  const std::string how = stop == SIGTERM ? "SIGTERM" : "SIGKILL";
  // The client-go peer creates the Lease at once; the sidecar joins as a follower.
  auto peer = pair.peer("client-go");
  auto sidecar = pair.sidecar("lease-elector");
  LeaderSampler sampler({peer->leader_url(), sidecar->leader_url()});
  REQUIRE_MESSAGE(sampler.wait_until_leading(0, steady_clock::now() - 1h, 20s), logs(*peer, *sidecar));
  std::this_thread::sleep_for(3s);  // the sidecar follows for a while: no overlap, no takeover
  CHECK(sampler.leader() == std::optional<std::size_t>(0));
  CHECK(pair.holder() == "client-go");

  const auto to_sidecar = hand_over(pair, sampler, *peer, 0, *sidecar, 1, stop);
  record_measurement("interop handover client-go -> lease-elector on " + how + ": " +
                     std::to_string(to_sidecar.count()) + " ms");

  // A new client-go peer follows the sidecar, then takes over from it.
  peer = pair.peer("client-go-2");
  LeaderSampler sampler2({peer->leader_url(), sidecar->leader_url()});
  std::this_thread::sleep_for(3s);
  CHECK(sampler2.leader() == std::optional<std::size_t>(1));
  const auto to_client_go = hand_over(pair, sampler2, *sidecar, 1, *peer, 0, stop);
  record_measurement("interop handover lease-elector -> client-go on " + how + ": " +
                     std::to_string(to_client_go.count()) + " ms");

  CHECK_MESSAGE(sampler.proven_overlaps() == 0, sampler.overlap_report() << "\n" << logs(*peer, *sidecar));
  CHECK_MESSAGE(sampler2.proven_overlaps() == 0, sampler2.overlap_report() << "\n" << logs(*peer, *sidecar));
  MESSAGE(how << ": " << sampler.samples() + sampler2.samples() << " /leader samples, "
              << sampler.adjacent_true_pairs() + sampler2.adjacent_true_pairs()
              << " adjacent true pairs of different electors (a handover between two samples)");
  CHECK(sampler.samples() + sampler2.samples() > 1000);

  peer->process().signal(SIGTERM);
  CHECK(peer->process().wait_for(10s) == 0);
}

}  // namespace

TEST_CASE("interop: leadership passes both ways between client-go and lease-elector on SIGTERM") {
  run_both_ways("interop-term", SIGTERM);
}

TEST_CASE("interop: leadership passes both ways between client-go and lease-elector on SIGKILL") {
  run_both_ways("interop-kill", SIGKILL);
}
