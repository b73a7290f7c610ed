// Real sidecar processes against the local API server, with short timings (lease 2 s, renew
// deadline 1 s, retry 200 ms). Bounds come from the issue; each wait polls with a deadline.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <stdlib.h>

#include "local_cluster.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
using le::testing::run_command;

namespace {

// Scheduling noise on a loaded 2-core machine, on top of the bounds the design promises.
constexpr milliseconds kSlack = 700ms;
// A follower polls every 1 to 2.2 retry periods (client-go's jitter factor 1.2).
constexpr milliseconds kPollInterval = 440ms;

ClusterOptions options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  return o;
}

std::size_t elect(LocalCluster& cluster, std::size_t replicas = 3) {
  for (std::size_t i = 0; i < replicas; ++i) cluster.start_sidecar(i);
  // A new Lease: created a lease duration after the first 404, led a renew deadline later.
  auto first = cluster.wait_for_leader(20s);
  REQUIRE(first);
  return first->first;
}

// Samples every replica's /leader for a while and returns how many sweeps saw exactly one leader.
int watch_for(LocalCluster& cluster, milliseconds how_long) {
  int single = 0;
  const auto until = steady_clock::now() + how_long;
  while (steady_clock::now() < until) {
    if (cluster.leaders().size() == 1) ++single;
    std::this_thread::sleep_for(5ms);
  }
  return single;
}

}  // namespace

TEST_CASE("exactly one leader among three sidecars") {
  LocalCluster cluster(options());
  const auto leader = elect(cluster);
  CHECK(watch_for(cluster, 3s) > 10);
  CHECK(cluster.split_brain_sweeps() == 0);
  CHECK(cluster.leaders() == std::vector<std::size_t>{leader});
  auto lease = cluster.read_lease();
  CHECK(lease["spec"]["holderIdentity"] == cluster.identity(leader));
  CHECK(lease["spec"]["leaseDurationSeconds"] == 2);
  // Every follower reports the same holder.
  for (std::size_t i = 0; i < 3; ++i) {
    auto view = cluster.leader_view(i);
    CHECK(view.name == cluster.identity(leader));
    CHECK(view.body["identity"] == cluster.identity(i));
    CHECK(view.body.contains("validForMs") == (i == leader));
  }
}

TEST_CASE("SIGKILL of the leader: a new leader within lease duration + two polling intervals") {
  LocalCluster cluster(options());
  const auto old = elect(cluster);
  watch_for(cluster, 500ms);
  cluster.sidecar(old).signal(SIGKILL);
  auto next = cluster.wait_for_leader(10s, old);
  REQUIRE(next);
  MESSAGE("SIGKILL handover took " << duration_cast<milliseconds>(next->second).count() << " ms");
  CHECK(next->second <= 2s + 2 * kPollInterval + kSlack);
  CHECK(cluster.split_brain_sweeps() == 0);
  CHECK(cluster.read_lease()["spec"]["leaseTransitions"].get<int>() >= 1);
}

TEST_CASE("SIGTERM of the leader: released, a new leader within release delay + one polling interval") {
  auto o = options();
  o.release_delay = "500ms";
  LocalCluster cluster(o);
  const auto old = elect(cluster);
  watch_for(cluster, 500ms);
  const auto transitions = cluster.read_lease()["spec"]["leaseTransitions"].get<int>();
  const auto signalled = steady_clock::now();
  cluster.sidecar(old).signal(SIGTERM);
  // The old leader stops reporting leadership at once (as soon as the signal is handled), well
  // before the release delay ends.
  while (cluster.leader_view(old).is_leader) {
    REQUIRE(steady_clock::now() - signalled < 250ms);
    std::this_thread::sleep_for(1ms);
  }
  auto next = cluster.wait_for_leader(10s, old);
  REQUIRE(next);
  MESSAGE("SIGTERM handover took " << duration_cast<milliseconds>(next->second).count() << " ms");
  CHECK(next->second >= 500ms);  // nobody took over during the release delay
  CHECK(next->second <= 500ms + kPollInterval + kSlack);
  auto status = cluster.sidecar(old).wait_for(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(steady_clock::now() - signalled < 5s);
  CHECK(cluster.read_lease()["spec"]["leaseTransitions"].get<int>() == transitions + 1);
  CHECK(cluster.split_brain_sweeps() == 0);
}

TEST_CASE("a follower stops at once on SIGTERM and leaves the leader alone") {
  auto o = options();
  o.kubeconfig_from_env = true;  // and the sidecars find the API server through a KUBECONFIG list
  LocalCluster cluster(o);
  const auto leader = elect(cluster);
  const std::size_t follower = (leader + 1) % 3;
  const auto before = cluster.read_lease()["spec"];
  cluster.sidecar(follower).signal(SIGTERM);
  auto status = cluster.sidecar(follower).wait_for(5s);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(cluster.leaders() == std::vector<std::size_t>{leader});
  CHECK(cluster.read_lease()["spec"]["acquireTime"] == before["acquireTime"]);
}

TEST_CASE("the API server failing longer than the renew deadline: the leader steps down, then recovers") {
  LocalCluster cluster(options());
  const auto leader = elect(cluster);
  watch_for(cluster, 300ms);
  const auto failing_since = steady_clock::now();
  cluster.set_faults({{"errorRate", 1.0}, {"errorStatus", 500}});
  // Steps down within the renew deadline of its last successful renewal.
  while (cluster.leader_view(leader).is_leader) {
    REQUIRE(steady_clock::now() - failing_since < 1s + kSlack);
    std::this_thread::sleep_for(5ms);
  }
  CHECK(cluster.leaders().empty());
  // No one leads while the API server fails (no one can write)...
  CHECK(watch_for(cluster, 1500ms) == 0);
  // ...and every sidecar stays alive and answering.
  for (std::size_t i = 0; i < 3; ++i) CHECK(cluster.leader_view(i).answered);
  cluster.set_faults(nlohmann::json::object());
  auto recovered = cluster.wait_for_leader(10s);
  REQUIRE(recovered);
  MESSAGE("leadership recovered " << duration_cast<milliseconds>(recovered->second).count()
                                  << " ms after the API server did");
  CHECK(cluster.split_brain_sweeps() == 0);
}

TEST_CASE("a deposed leader's late release does not touch the new holder's record") {
  auto o = options();
  o.release_delay = "0s";
  LocalCluster cluster(o);
  const auto old = elect(cluster);
  // Freeze the leader (SIGSTOP: its clocks run on) until another replica has taken over.
  cluster.sidecar(old).signal(SIGSTOP);
  auto next = cluster.wait_for_leader(10s, old);
  REQUIRE(next);
  const auto taken = cluster.read_lease()["spec"];
  REQUIRE(taken["holderIdentity"] == cluster.identity(next->first));
  // Wake it and stop it at once: it must neither claim leadership nor release the Lease.
  cluster.sidecar(old).signal(SIGCONT);
  cluster.sidecar(old).signal(SIGTERM);
  for (int i = 0; i < 20; ++i) {
    auto view = cluster.leader_view(old);
    if (view.answered) CHECK_FALSE(view.is_leader);
  }
  auto status = cluster.sidecar(old).wait_for(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  auto after = cluster.read_lease()["spec"];
  CHECK(after["holderIdentity"] == taken["holderIdentity"]);
  CHECK(after["acquireTime"] == taken["acquireTime"]);
  CHECK(after["leaseTransitions"] == taken["leaseTransitions"]);
  CHECK(cluster.leaders() == std::vector<std::size_t>{next->first});
  CHECK(cluster.split_brain_sweeps() == 0);
}

TEST_CASE("bad flags exit with status 2 and name the flag") {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const std::vector<Case> cases{
      {{"--lease-name", "x", "--lease-duration", "1500ms"}, "--lease-duration"},
      {{"--lease-name", "x", "--lease-duration", "500ms"}, "--lease-duration"},
      {{"--lease-name", "x", "--lease-duration", "5s", "--renew-deadline", "5s"}, "--renew-deadline"},
      {{"--lease-name", "x", "--renew-deadline", "2s", "--retry-period", "2s"}, "--retry-period"},
      {{"--lease-name", "x", "--no-such-flag"}, "--no-such-flag"},
      {{"--namespace", "default"}, "--lease-name"},
      {{"--lease-name", "x", "--ttl", "10s", "--lease-duration", "10s"}, "--ttl"},
      {{"--lease-name", "x", "--ttl", "1500ms"}, "--ttl"},
      {{"--lease-name", "x", "--http", "nowhere"}, "--http"},
      {{"--lease-name", "x", "--log-format", "xml"}, "--log-format"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{LEASE_ELECTOR_BINARY};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto result = run_command(argv, 5s, {"KUBECONFIG=/nonexistent"});
    CAPTURE(c.mentions);
    CAPTURE(result.output);
    CHECK(result.status == 2);
    CHECK(result.output.find(c.mentions) != std::string::npos);
  }
  auto help = run_command({LEASE_ELECTOR_BINARY, "--help"}, 5s);
  CHECK(help.status == 0);
  CHECK(help.output.find("--lease-name") != std::string::npos);
}

TEST_CASE("labels and annotations survive renewals, the bearer token never reaches the logs") {
  LocalCluster cluster(options());
  const auto leader = elect(cluster);
  cluster.patch_lease(
      {{"metadata", {{"labels", {{"team", "payments"}}}, {"annotations", {{"note", "kept"}}}}}});
  const auto renewed_before = cluster.read_lease()["spec"]["renewTime"];
  std::this_thread::sleep_for(600ms);  // three renewals at a 200 ms retry period
  auto lease = cluster.read_lease();
  CHECK(lease["spec"]["renewTime"] != renewed_before);
  CHECK(lease["spec"]["holderIdentity"] == cluster.identity(leader));
  CHECK(lease["metadata"]["labels"]["team"] == "payments");
  CHECK(lease["metadata"]["annotations"]["note"] == "kept");
  CHECK(cluster.leaders() == std::vector<std::size_t>{leader});  // the 409 from the edit cost no term
  for (std::size_t i = 0; i < 3; ++i) {
    const auto log = cluster.sidecar(i).log();
    CHECK(log.find("debug") != std::string::npos);  // the logs were verbose, and still
    CHECK(log.find("admin-token") == std::string::npos);
  }
}

TEST_CASE("while the API server is unreachable at start-up the sidecar serves, waits and says so") {
  const int api_port = le::testing::free_loopback_port();
  const int http_port = le::testing::free_loopback_port();
  char dir_pattern[] = "/tmp/lease-elector-startup-XXXXXX";
  REQUIRE(::mkdtemp(dir_pattern));
  const std::string dir = dir_pattern;
  const std::string kubeconfig = dir + "/kubeconfig";
  {
    std::ofstream out(kubeconfig);
    out << "apiVersion: v1\nkind: Config\ncurrent-context: later\n"
        << "clusters: [{name: later, cluster: {server: \"http://127.0.0.1:" << api_port << "\"}}]\n"
        << "users: [{name: admin, user: {token: admin-token}}]\n"
        << "contexts: [{name: later, context: {cluster: later, user: admin, namespace: default}}]\n";
  }
  le::testing::ChildProcess sidecar(
      {LEASE_ELECTOR_BINARY, "--lease-name", "startup", "--id", "solo", "--http",
       "127.0.0.1:" + std::to_string(http_port), "--kubeconfig", kubeconfig, "--lease-duration", "2s",
       "--renew-deadline", "1s", "--retry-period", "200ms"},
      dir + "/sidecar.log");
  le::testing::HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(http_port);
  le::testing::HttpAnswer leader;
  const auto deadline = steady_clock::now() + 10s;
  while ((leader = http.get(base + "/leader")).status != 200) {
    REQUIRE(steady_clock::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
  CHECK(nlohmann::json::parse(leader.body)["isLeader"] == false);
  CHECK(http.get(base + "/healthz").status == 200);
  CHECK(http.get(base + "/readyz").status == 503);
  while (sidecar.log().find("waiting for the API server") == std::string::npos) {
    REQUIRE(steady_clock::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
  // The API server comes up: the backoff (capped at the lease duration) finds it, and the sidecar
  // creates the Lease and leads.
  le::testing::ChildProcess apiserver(
      {FAKE_APISERVER_BINARY, "--listen", "127.0.0.1:" + std::to_string(api_port), "--state-dir", dir},
      dir + "/apiserver.log");
  const auto up = steady_clock::now();
  while (!nlohmann::json::parse(http.get(base + "/leader").body)["isLeader"].get<bool>()) {
    REQUIRE(steady_clock::now() - up < 2s + 2s + 1s + 3s);  // backoff cap + lease + renew deadline + slack
    std::this_thread::sleep_for(10ms);
  }
  sidecar.signal(SIGTERM);
  CHECK(sidecar.wait_for(5s) == std::optional<int>{0});
  std::filesystem::remove_all(dir);
}

TEST_CASE("shutdown stays inside the grace period when the API server stops answering") {
  auto o = options();
  // Long timings: requests may take up to 10 s, the renew deadline is 80 s.
  o.lease_duration = "100s";
  o.renew_deadline = "80s";
  o.retry_period = "5s";
  o.release_delay = "1s";
  LocalCluster cluster(o);
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.start_sidecar(0);
  auto leader = cluster.wait_for_leader(10s);
  REQUIRE(leader);
  // Every answer now takes two minutes; a renewal is under way when SIGTERM comes.
  cluster.set_faults({{"latencyMs", 120000}});
  std::this_thread::sleep_for(6s);
  const auto signalled = steady_clock::now();
  cluster.sidecar(0).signal(SIGTERM);
  auto status = cluster.sidecar(0).wait_for(40s);
  REQUIRE(status);
  CHECK(*status == 0);
  const auto took = steady_clock::now() - signalled;
  MESSAGE("exited " << duration_cast<milliseconds>(took).count() << " ms after SIGTERM");
  CHECK(took < 27s);  // the 25 s shutdown budget, inside Kubernetes' default 30 s grace period
  cluster.set_faults(nlohmann::json::object());
}

TEST_CASE("a rotated token file is picked up: the leader keeps renewing after the old token is revoked") {
  LocalCluster cluster(options());
  // A kubeconfig whose user reads its token from a file, as projected service-account tokens are.
  const std::string token_file = cluster.work_dir() + "/token";
  const std::string kubeconfig = cluster.work_dir() + "/kubeconfig-token-file";
  const auto write_atomically = [](const std::string& path, const std::string& text) {
    {
      std::ofstream out(path + ".new");
      out << text;
    }
    std::filesystem::rename(path + ".new", path);  // the kubelet swaps projected files the same way
  };
  write_atomically(token_file, "admin-token\n");
  write_atomically(kubeconfig,
                   "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                   "clusters: [{name: c, cluster: {server: \"" +
                       cluster.api_url() + "\", certificate-authority: \"" + cluster.ca_file() +
                       "\"}}]\n"
                       "users: [{name: u, user: {tokenFile: \"" +
                       token_file +
                       "\"}}]\n"
                       "contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n");
  cluster.start_sidecar(0, {"--kubeconfig", kubeconfig});  // the last --kubeconfig wins
  REQUIRE(cluster.wait_for_leader(20s));

  cluster.post_tokens({{"token", "rotated-token"}, {"user", "admin"}});
  write_atomically(token_file, "rotated-token\n");
  cluster.post_tokens({{"revoke", "admin-token"}});
  cluster.use_admin_token("rotated-token");
  const auto renewed_before = cluster.read_lease()["spec"]["renewTime"];
  // Renewals go on (every 200 ms) with the new token; the leader never steps down.
  const auto until = steady_clock::now() + 1500ms;
  while (steady_clock::now() < until) {
    CHECK(cluster.leaders() == std::vector<std::size_t>{0});
    std::this_thread::sleep_for(20ms);
  }
  CHECK(cluster.read_lease()["spec"]["renewTime"] != renewed_before);
  CHECK(cluster.sidecar(0).log().find("Unauthorized") == std::string::npos);
}
