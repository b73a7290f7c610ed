// Routing modes with real sidecar processes against the local API server: the leader's Pod alone
// carries the label / the condition / the endpoint, through stale leftovers, handovers and
// step-downs; RBAC denial is reported and survived. Every wait samples the routed state and the
// test fails if any sample shows two Pods routed at once; "never two leaders" is judged from the
// sidecars' leadership logs.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "local_cluster.h"
#include "never_two_leaders.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
using nlohmann::json;
using Names = std::set<std::string>;

namespace {

constexpr const char* kLeaderLabel = "lease-elector.io/leader";
constexpr const char* kGate = "lease-elector.io/leader";
constexpr const char* kSlices = "/apis/discovery.k8s.io/{v}/namespaces/default/endpointslices/";

enum class Mode { label, gate, endpoints };

ClusterOptions options(Mode mode, const std::string& slice_version = "v1") {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.pod_env = true;
  // A late answer would read as "not leader"; only scheduling delays one, by up to seconds here.
  o.leader_answer_timeout = 5s;
  switch (mode) {
    case Mode::label:
      o.extra_sidecar_flags = {"--route", "label", "--pod-selector", "app=demo"};
      break;
    case Mode::gate:
      o.extra_sidecar_flags = {"--route", "readiness-gate", "--pod-selector", "app=demo"};
      break;
    case Mode::endpoints:
      o.extra_sidecar_flags = {"--route", "endpoints",        "--service",
                               "web",     "--endpoint-ports", "http:8080/TCP"};
      o.extra_apiserver_flags = {"--endpointslice-version", slice_version};
      break;
  }
  return o;
}

// What the API server routes to right now, as the Service would see it.
class RoutedState {
 public:
  RoutedState(LocalCluster& cluster, Mode mode, std::string slice_version = "v1")
      : cluster_(cluster), mode_(mode), slice_version_(std::move(slice_version)) {}

  Names now() {
    Names out;
    if (mode_ == Mode::endpoints) {
      std::string path = kSlices;
      path.replace(path.find("{v}"), 3, slice_version_);
      const auto answer = cluster_.api_request("GET", path + "web-lease-elector");
      if (answer.status == 404) return out;
      REQUIRE(answer.status == 200);
      const auto slice = json::parse(answer.body);
      for (const auto& e : slice.value("endpoints", json::array())) {
        for (const auto& a : e.value("addresses", json::array())) out.insert(a.get<std::string>());
      }
    } else {
      for (const auto& pod : cluster_.list_pods("app=demo")) {
        const std::string name = pod["metadata"]["name"];
        if (mode_ == Mode::label) {
          if (pod["metadata"].value("labels", json::object()).value(kLeaderLabel, "") == "true")
            out.insert(name);
        } else {
          for (const auto& c : pod["status"].value("conditions", json::array())) {
            if (c["type"] == kGate && c["status"] == "True") out.insert(name);
          }
        }
      }
    }
    max_seen_ = std::max(max_seen_, out.size());
    ++samples_;
    return out;
  }
  // Samples until the routed set equals `expected`; false at the timeout.
  bool wait_for(const Names& expected, milliseconds timeout) {
    const auto until = steady_clock::now() + timeout;
    Names last;
    while (steady_clock::now() < until) {
      last = now();
      if (last == expected) return true;
      std::this_thread::sleep_for(10ms);
    }
    std::string got;
    for (const auto& n : last) got += n + " ";
    MESSAGE("routed at the timeout: " << got);
    return false;
  }
  std::size_t max_seen() const { return max_seen_; }
  int samples() const { return samples_; }

 private:
  LocalCluster& cluster_;
  Mode mode_;
  std::string slice_version_;
  std::size_t max_seen_ = 0;
  int samples_ = 0;
};

std::size_t wait_leader(LocalCluster& cluster, std::optional<std::size_t> except = std::nullopt) {
  auto leader = cluster.wait_for_leader(20s, except);
  REQUIRE(leader);
  return leader->first;
}

std::string routed_name(LocalCluster& cluster, Mode mode, std::size_t index) {
  return mode == Mode::endpoints ? LocalCluster::pod_ip(index) : cluster.identity(index);
}

bool log_contains(LocalCluster& cluster, std::size_t index, const std::string& needle, milliseconds timeout) {
  const auto until = steady_clock::now() + timeout;
  while (steady_clock::now() < until) {
    if (cluster.sidecar(index).log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// Three replicas; a leftover routed to a crashed leader's Pod; then two quick handovers by
// SIGTERM. At every sample at most one Pod is routed, and in the end exactly the leader's.
void handovers(Mode mode, const std::string& slice_version = "v1") {
  LocalCluster cluster(options(mode, slice_version));
  cluster.create_lease(LocalCluster::released_lease_spec());  // free, released: taken at once
  RoutedState routed(cluster, mode, slice_version);
  if (mode != Mode::endpoints) {
    for (std::size_t i = 0; i < 3; ++i) cluster.create_pod(cluster.identity(i), {{"app", "demo"}});
    cluster.create_pod("crashed-0", {{"app", "demo"}});
    // The leftover of a leader that crashed before it could clean up.
    if (mode == Mode::label) {
      REQUIRE(cluster
                  .api_request("PATCH", "/api/v1/namespaces/default/pods/crashed-0",
                               json{{"metadata", {{"labels", {{kLeaderLabel, "true"}}}}}}.dump(),
                               "application/merge-patch+json")
                  .status == 200);
    } else {
      const json condition{{"type", kGate}, {"status", "True"}};
      REQUIRE(cluster
                  .api_request("PATCH", "/api/v1/namespaces/default/pods/crashed-0/status",
                               json{{"status", {{"conditions", json::array({condition})}}}}.dump(),
                               "application/strategic-merge-patch+json")
                  .status == 200);
    }
    CHECK(routed.now() == Names{"crashed-0"});
  }
  for (std::size_t i = 0; i < 3; ++i) cluster.start_sidecar(i);
  const auto first = wait_leader(cluster);
  CHECK(routed.wait_for({routed_name(cluster, mode, first)}, 15s));

  // Two handovers in a row, the second as soon as the first has a new leader.
  cluster.sidecar(first).signal(SIGTERM);
  const auto second = wait_leader(cluster, first);
  cluster.sidecar(second).signal(SIGTERM);
  std::size_t third = 3;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != first && i != second) third = i;
  }
  CHECK(routed.wait_for({routed_name(cluster, mode, third)}, 15s));
  CHECK(cluster.sidecar(first).wait_for(10s) == std::optional<int>{0});
  CHECK(cluster.sidecar(second).wait_for(10s) == std::optional<int>{0});
  // Stable afterwards: the stray check finds nothing to fix.
  const auto until = steady_clock::now() + 1s;
  while (steady_clock::now() < until) CHECK(routed.now() == Names{routed_name(cluster, mode, third)});

  // The last one steps down: it removes its own route on the way out.
  cluster.sidecar(third).signal(SIGTERM);
  CHECK(cluster.sidecar(third).wait_for(10s) == std::optional<int>{0});
  CHECK(routed.now().empty());
  MESSAGE(routed.samples() << " samples of the routed state");
  CHECK(routed.max_seen() <= 1);
  le::testing::check_never_two_leaders(cluster, 3);
}

}  // namespace

TEST_CASE("label: stale label takeover, two quick handovers, step-down - never two labelled pods") {
  handovers(Mode::label);
}

TEST_CASE("readiness-gate: stale condition takeover, two quick handovers, step-down - never two True") {
  handovers(Mode::gate);
}

TEST_CASE("endpoints (discovery.k8s.io/v1): handovers move the one endpoint - step-down empties the slice") {
  handovers(Mode::endpoints, "v1");
}

TEST_CASE("endpoints on a server with only discovery.k8s.io/v1beta1 (as 1.20): found by discovery") {
  handovers(Mode::endpoints, "v1beta1");
}

TEST_CASE("RBAC denial: the sidecar names the missing rule, keeps leading and keeps retrying") {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("lease-elector-rbac-" + std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr)));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokens.csv") << "admin-token,admin,admin-uid,\"system:masters\"\n"
                                    << "elector-token,elector,elector-uid,\n";
  // Leases and pod reads, but no pod patch.
  std::ofstream(dir / "rbac.json")
      << R"({"users":{"elector":{"namespaces":["default"],"resources":{"leases":["get","list","watch","create","update"],"pods":["get","list"]}}}})";
  auto o = options(Mode::label);
  // A renew deadline of 4 s: it keeps leading through the checks below however loaded the machine.
  o.lease_duration = "6s";
  o.renew_deadline = "4s";
  o.extra_apiserver_flags = {"--token-file",      (dir / "tokens.csv").string(),
                             "--rbac-file",       (dir / "rbac.json").string(),
                             "--kubeconfig-user", "elector"};
  LocalCluster cluster(o);
  cluster.use_admin_token("admin-token");
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.create_pod(cluster.identity(0), {{"app", "demo"}});
  cluster.start_sidecar(0);
  CHECK(wait_leader(cluster) == 0);
  CHECK(log_contains(cluster, 0,
                     "cannot patch pods in namespace default: add this rule to the Role: {apiGroups: [\"\"], "
                     "resources: [\"pods\"], verbs: [\"patch\"]}",
                     10s));
  // It keeps leading, and running, for a second of denied patches.
  const auto until = steady_clock::now() + 1s;
  while (steady_clock::now() < until) {
    CHECK(cluster.leader_view(0).is_leader);
    std::this_thread::sleep_for(50ms);
  }
  CHECK(cluster.sidecar(0).running());
  RoutedState routed(cluster, Mode::label);
  CHECK(routed.now().empty());
  cluster.sidecar(0).signal(SIGTERM);
  CHECK(cluster.sidecar(0).wait_for(10s) == std::optional<int>{0});
  std::filesystem::remove_all(dir);
}

TEST_CASE("shutdown fits the 25 s budget in every routing mode when the API server stops answering") {
  // One cluster per mode, all at once (the wait is the same ~25 s for each). Long timings:
  // requests may take up to 10 s; the longest release delay keeps the election busy until close
  // to its deadline, and the leader's route is still to be removed when the answers stop.
  const std::vector<Mode> modes{Mode::label, Mode::gate, Mode::endpoints};
  std::vector<std::unique_ptr<LocalCluster>> clusters;
  for (const Mode mode : modes) {
    auto o = options(mode);
    o.lease_duration = "100s";
    o.renew_deadline = "80s";
    o.retry_period = "5s";
    o.release_delay = "15s";
    auto& cluster = *clusters.emplace_back(std::make_unique<LocalCluster>(o));
    cluster.create_lease(LocalCluster::released_lease_spec());  // taken at once
    if (mode != Mode::endpoints) cluster.create_pod(cluster.identity(0), {{"app", "demo"}});
    cluster.start_sidecar(0);
  }
  for (std::size_t i = 0; i < modes.size(); ++i) {
    CAPTURE(i);
    REQUIRE(wait_leader(*clusters[i]) == 0);
    RoutedState routed(*clusters[i], modes[i]);
    REQUIRE(routed.wait_for({routed_name(*clusters[i], modes[i], 0)}, 15s));
  }
  // Every answer now takes two minutes; renewals and stray checks are under way when SIGTERM comes.
  for (auto& cluster : clusters) cluster->set_faults({{"latencyMs", 120000}});
  std::this_thread::sleep_for(6s);
  const auto signalled = steady_clock::now();
  for (auto& cluster : clusters) cluster->sidecar(0).signal(SIGTERM);
  for (std::size_t i = 0; i < modes.size(); ++i) {
    CAPTURE(i);
    const auto status = clusters[i]->sidecar(0).wait_for(40s);
    REQUIRE(status);
    CHECK(*status == 0);
    const auto took = steady_clock::now() - signalled;
    MESSAGE("mode " << i << " exited " << duration_cast<milliseconds>(took).count() << " ms after SIGTERM");
    CHECK(took < 27s);  // the README's 25 s shutdown budget, inside Kubernetes' default 30 s grace period
  }
  for (auto& cluster : clusters) cluster->set_faults(json::object());
}

TEST_CASE("routing flags: a missing setting exits 2 and names it") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--route", "label"}, "--pod-selector"},
      {{"--route", "endpoints", "--service", "web"}, "--endpoint-ports"},
      {{"--route", "bogus"}, "--route \"bogus\" is not a routing mode"},
  };
  for (const auto& [flags, needle] : cases) {
    std::vector<std::string> argv{LEASE_ELECTOR_BINARY, "--lease-name", "demo"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto result = le::testing::run_command(argv, 10s, {"POD_NAME=p"});
    CAPTURE(result.output);
    CHECK(result.status == 2);
    CHECK(result.output.find(needle) != std::string::npos);
  }
}
