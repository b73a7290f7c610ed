// Fault tolerance of a real sidecar process: a token file that disappears for a while, and the
// local HTTP endpoints answering while the API server is slow or unreachable.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "local_cluster.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
namespace fs = std::filesystem;

namespace {

ClusterOptions options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  return o;
}

void write_atomically(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".new");
    out << text;
  }
  fs::rename(path + ".new", path);
}

// A kubeconfig whose user reads its token from a file, as projected service-account tokens are.
std::string token_file_kubeconfig(LocalCluster& cluster, const std::string& token_file) {
  const std::string kubeconfig = cluster.work_dir() + "/kubeconfig-token-file";
  write_atomically(kubeconfig,
                   "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                   "clusters: [{name: c, cluster: {server: \"" +
                       cluster.api_url() + "\", certificate-authority: \"" + cluster.ca_file() +
                       "\"}}]\nusers: [{name: u, user: {tokenFile: \"" + token_file +
                       "\"}}]\ncontexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n");
  return kubeconfig;
}

}  // namespace

TEST_CASE("a token file that disappears for a while is logged and retried, never fatal") {
  LocalCluster cluster(options());
  const std::string token_file = cluster.work_dir() + "/token";
  write_atomically(token_file, "admin-token\n");
  cluster.start_sidecar(0, {"--kubeconfig", token_file_kubeconfig(cluster, token_file)});
  REQUIRE(cluster.wait_for_leader(20s));

  fs::rename(token_file, token_file + ".away");
  // Several renewals (every 200 ms) without the file: the last token read keeps working.
  const auto until = steady_clock::now() + 1500ms;
  while (steady_clock::now() < until) {
    CHECK(cluster.leaders() == std::vector<std::size_t>{0});
    std::this_thread::sleep_for(20ms);
  }
  CHECK(cluster.sidecar(0).running());
  fs::rename(token_file + ".away", token_file);
  std::this_thread::sleep_for(500ms);
  CHECK(cluster.leaders() == std::vector<std::size_t>{0});
  const std::string log = cluster.sidecar(0).log();
  CHECK(log.find(token_file) != std::string::npos);  // the outage was logged, naming the file
  CHECK(log.find("readable again") != std::string::npos);
  CHECK(log.find("admin-token") == std::string::npos);
}

TEST_CASE("a token file that appears only after start: the sidecar retries and then leads") {
  LocalCluster cluster(options());
  const std::string token_file = cluster.work_dir() + "/token";
  cluster.start_sidecar(0, {"--kubeconfig", token_file_kubeconfig(cluster, token_file)});
  std::this_thread::sleep_for(1s);
  REQUIRE(cluster.sidecar(0).running());
  CHECK(cluster.leaders().empty());
  write_atomically(token_file, "admin-token\n");
  // Start-up backoff doubles from the retry period up to the lease duration (2 s), then the
  // create and the wait after it.
  CHECK(cluster.wait_for_leader(20s));
}

TEST_CASE("/leader keeps answering at once while the API server is slow, then down") {
  LocalCluster cluster(options());
  cluster.start_sidecar(0);
  cluster.start_sidecar(1);
  const auto leader = cluster.wait_for_leader(20s);
  REQUIRE(leader);

  for (const auto& faults : {nlohmann::json{{"latencyMs", 30000}}, nlohmann::json{{"dropRate", 1.0}}}) {
    CAPTURE(faults.dump());
    cluster.set_faults(faults);
    // Three seconds: past the renew deadline (1 s), so the leader has stepped down meanwhile, and
    // every answer still comes within the client's 1 s timeout.
    const auto until = steady_clock::now() + 3s;
    int answers = 0;
    while (steady_clock::now() < until) {
      for (std::size_t i = 0; i < 2; ++i) {
        const auto view = cluster.leader_view(i);  // 500 ms timeout
        CHECK(view.answered);
        answers += view.answered;
      }
      std::this_thread::sleep_for(50ms);
    }
    CHECK(answers > 20);
    // Nobody leads without the API server, and both say so at once.
    CHECK(cluster.leaders().empty());
    CHECK_FALSE(cluster.leader_view(leader->first).is_leader);
    cluster.set_faults(nlohmann::json::object());
    CHECK(cluster.wait_for_leader(20s));
  }
}

TEST_CASE(
    "a renewal the server applied twice (libcurl resends it on a dead connection) costs at most a "
    "step-down") {
  // The local API server applies the next write, then closes the connection without an answer, as
  // a reused connection that dies after the server read the request. libcurl then resends the
  // request on a fresh connection: the server sees the renewal twice, and the second copy, based on
  // the resourceVersion the first one replaced, is a 409. The leader steps down on the 409, re-reads,
  // finds its own record (same term, same object) and renews it: no new term, nobody else leads.
  LocalCluster cluster(options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.start_sidecar(0);
  REQUIRE(cluster.wait_for_leader(20s));
  const auto before = cluster.read_lease();
  cluster.reset_stats();
  // Scoped to the Lease: the sidecar's Events are writes too.
  cluster.set_faults({{"byName", {{"demo", {{"dropAppliedWrites", 1}}}}}});
  // The fault fires on the next renewal (every 200 ms); wait for it to have been used.
  const auto fired_by = steady_clock::now() + 5s;
  while (cluster.stats()["byVerb"].value("update leases", 0) < 2) {
    REQUIRE(steady_clock::now() < fired_by);
    std::this_thread::sleep_for(20ms);
  }
  const auto stats = cluster.stats();
  CAPTURE(stats.dump());
  // Leading again within a renew deadline (1 s) plus slack, in the same term.
  REQUIRE(cluster.wait_for_leader(3s));
  const auto after = cluster.read_lease();
  CHECK(after["spec"]["holderIdentity"] == cluster.identity(0));
  CHECK(after["spec"]["acquireTime"] == before["spec"]["acquireTime"]);
  CHECK(after["spec"]["leaseTransitions"] == before["spec"]["leaseTransitions"]);
  // The resent copy was answered 409, which made the leader step down: that is the cost, and all.
  CHECK(stats["byStatus"].value("409", 0) >= 1);
  // The log reaches its file a little later than the requests happen.
  const auto logged_by = steady_clock::now() + 5s;
  while (cluster.sidecar(0).log().find("stepped down: update of") == std::string::npos &&
         steady_clock::now() < logged_by) {
    std::this_thread::sleep_for(50ms);
  }
  const std::string log = cluster.sidecar(0).log();
  INFO("sidecar log:\n" << log);
  CHECK(log.find("stepped down: update of") != std::string::npos);
  CHECK(log.find("acquired lease") == log.rfind("acquired lease"));  // one term in all
}
