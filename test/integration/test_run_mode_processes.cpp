// Run mode with real processes: three sidecars, each `lease-elector ... -- run-mode-child DIR`
// (test/support/run_mode_child.cpp), whose children log on CLOCK_BOOTTIME and write to a store
// fenced by LEASE_ELECTOR_FENCING_TOKEN. Split brain, judged from the children's own logs: no two
// children (of any replicas) ever run at once through SIGTERM, SIGKILL and a step-down of the
// leader's sidecar, and a child that ignores SIGTERM is killed after the grace before anyone else
// leads. Under SIGSTOP of a whole replica (sidecar and child), where no process can stop a frozen
// child from acting once thawed, the fenced store never accepts an older term's write after a
// newer one's. The sidecars' leadership logs must not overlap either (check_never_two_leaders).
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "local_cluster.h"
#include "never_two_leaders.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::check_never_two_leaders;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
namespace fs = std::filesystem;

namespace {

constexpr auto kGrace = "300ms";

ClusterOptions options() {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.leader_answer_timeout = 5s;
  return o;  // lease 2s, renew deadline 1s, retry 200ms: --run-grace must stay below 600ms
}

// One child's life as it logged it.
struct ChildLife {
  std::string file;
  std::string identity;
  std::string token;
  long long start_ns = 0;
  long long last_ns = 0;  // its last line: it did nothing after this
  bool got_term = false;
  bool ended = false;  // exited by itself after SIGTERM (not killed)
};

std::vector<ChildLife> child_lives(const std::string& dir) {
  std::vector<ChildLife> lives;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("child-", 0) != 0) continue;
    ChildLife life;
    life.file = name;
    life.identity = name.substr(6, name.rfind('-') - 6);
    std::ifstream in(entry.path());
    std::string what;
    long long at = 0;
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      if (!(words >> what >> at)) continue;  // a line cut short by SIGKILL
      if (what == "start") {
        life.start_ns = at;
        words >> life.token;
      }
      life.got_term = life.got_term || what == "term";
      life.ended = life.ended || what == "end";
      life.last_ns = std::max(life.last_ns, at);
    }
    if (life.start_ns != 0) lives.push_back(life);
  }
  std::sort(lives.begin(), lives.end(), [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
  return lives;
}

// No two children's lives overlap, whichever replicas they belong to; returns how many there were.
std::size_t check_one_child_at_a_time(const std::string& dir) {
  const auto lives = child_lives(dir);
  for (std::size_t i = 1; i < lives.size(); ++i) {
    INFO(lives[i - 1].file << " [" << lives[i - 1].start_ns << ", " << lives[i - 1].last_ns << "] and "
                           << lives[i].file << " [" << lives[i].start_ns << ", " << lives[i].last_ns << "]");
    CHECK(lives[i - 1].last_ns < lives[i].start_ns);
  }
  return lives.size();
}

// Waits for the leader's child (a child of `identity` started after `since_ns`); its life so far.
std::optional<ChildLife> wait_for_child(const std::string& dir, const std::string& identity,
                                        long long since_ns) {
  for (const auto until = steady_clock::now() + 10s; steady_clock::now() < until;
       std::this_thread::sleep_for(10ms)) {
    for (const auto& life : child_lives(dir)) {
      if (life.identity == identity && life.start_ns >= since_ns) return life;
    }
  }
  return std::nullopt;
}

std::optional<ChildLife> life_of(const std::string& dir, const std::string& file) {
  for (const auto& life : child_lives(dir)) {
    if (life.file == file) return life;
  }
  return std::nullopt;
}

// A process that has exited: gone, or a zombie nobody has reaped yet.
bool exited(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

pid_t pid_of(const ChildLife& life) { return std::stoi(life.file.substr(life.file.rfind('-') + 1)); }

struct RunCluster {
  RunCluster() : cluster(options()), dir(cluster.work_dir() + "/run") {
    fs::create_directories(dir);
    cluster.create_lease(LocalCluster::released_lease_spec());
    for (std::size_t i = 0; i < 3; ++i) {
      admin_ports.push_back(le::testing::free_loopback_port());
      start(i);
    }
  }
  void start(std::size_t i) {
    cluster.start_sidecar(
        i, {"--admin-http", "127.0.0.1:" + std::to_string(admin_ports[i]), "--step-down-holdoff", "0s",
            "--run-grace", kGrace, "--", RUN_MODE_CHILD_BINARY, dir});
  }
  // The current leader and its child.
  std::pair<std::size_t, ChildLife> leader_with_child(long long since_ns) {
    const auto leader = cluster.wait_for_leader(20s);
    REQUIRE(leader);
    const auto child = wait_for_child(dir, cluster.identity(leader->first), since_ns);
    REQUIRE(child);
    return {leader->first, *child};
  }
  LocalCluster cluster;
  std::string dir;
  std::vector<int> admin_ports;
  le::testing::HttpClient http;
};

}  // namespace

TEST_CASE(
    "the command runs on one replica at a time through SIGTERM, SIGKILL and a step-down of its sidecar") {
  RunCluster c;
  LocalCluster& cluster = c.cluster;

  // 1. SIGTERM: the child gets SIGTERM at once and exits; only then is the Lease released.
  auto [a, child_a] = c.leader_with_child(0);
  std::this_thread::sleep_for(200ms);
  cluster.sidecar(a).signal(SIGTERM);
  REQUIRE(cluster.sidecar(a).wait_for(10s) == 0);
  auto life_a = life_of(c.dir, child_a.file);
  REQUIRE(life_a);
  CHECK(life_a->got_term);
  CHECK(life_a->ended);
  CHECK(exited(pid_of(*life_a)));
  const std::string log_a = cluster.sidecar(a).log();
  CHECK(log_a.find("releasing the lease once the command has exited") != std::string::npos);
  CHECK(log_a.find("exited with status 0") < log_a.find("released lease default/demo"));
  c.start(a);

  // 2. SIGKILL of the sidecar: the child dies with it (PR_SET_PDEATHSIG), and the next child
  //    starts only after the Lease has expired.
  auto [b, child_b] = c.leader_with_child(life_a->last_ns);
  std::this_thread::sleep_for(100ms);
  cluster.sidecar(b).kill_now();
  const auto killed_at = steady_clock::now();
  while (!exited(pid_of(child_b)) && steady_clock::now() - killed_at < 5s) std::this_thread::sleep_for(5ms);
  CHECK(exited(pid_of(child_b)));
  const auto life_b = life_of(c.dir, child_b.file);
  REQUIRE(life_b);
  CHECK_FALSE(life_b->ended);
  c.start(b);

  // 3. A step-down on request: SIGTERM to the child at once, the release after it has exited.
  auto [d, child_d] = c.leader_with_child(life_b->last_ns);
  std::this_thread::sleep_for(100ms);
  const auto accepted = c.http.request(
      "POST", "http://127.0.0.1:" + std::to_string(c.admin_ports[d]) + "/step-down?holdoff=5s", "", "", 5s);
  REQUIRE(accepted.status == 202);
  auto [e, child_e] = c.leader_with_child(child_d.start_ns + 1);
  CHECK(e != d);
  const auto life_d = life_of(c.dir, child_d.file);
  REQUIRE(life_d);
  CHECK(life_d->ended);
  CHECK(life_d->last_ns < child_e.start_ns);

  // 4. A command that ignores SIGTERM: SIGKILL after the grace, then the release.
  std::ofstream(c.dir + "/ignore-term").put('\n');
  cluster.sidecar(e).signal(SIGTERM);  // this child was started before ignore-term: it obeys
  REQUIRE(cluster.sidecar(e).wait_for(10s) == 0);
  c.start(e);
  auto [f, child_f] = c.leader_with_child(child_e.start_ns + 1);
  cluster.sidecar(f).signal(SIGTERM);
  REQUIRE(cluster.sidecar(f).wait_for(10s) == 0);
  const auto life_f = life_of(c.dir, child_f.file);
  REQUIRE(life_f);
  CHECK_FALSE(life_f->ended);
  const std::string log_f = cluster.sidecar(f).log();
  CHECK(log_f.find("sent SIGKILL") != std::string::npos);
  CHECK(log_f.find("killed by SIGKILL") < log_f.find("released lease default/demo"));
  fs::remove(c.dir + "/ignore-term");
  auto [g, child_g] = c.leader_with_child(life_f->last_ns);

  // 5. A follower (no command running) stops at once on SIGTERM, and the leader's command runs on.
  const std::size_t follower = (g + 1) % 3;
  cluster.sidecar(follower).signal(SIGTERM);
  CHECK(cluster.sidecar(follower).wait_for(10s) == 0);
  const auto life_g = life_of(c.dir, child_g.file);
  REQUIRE(life_g);
  CHECK_FALSE(life_g->got_term);

  const auto lives = check_one_child_at_a_time(c.dir);
  CHECK(lives >= 6);
  // Every later child carries a greater fencing token (numeric, as the store compares them).
  const auto all = child_lives(c.dir);
  std::string story;
  for (const auto& life : all) {
    story += "\n  " + life.identity + " token " + life.token + " ran " +
             std::to_string((life.last_ns - life.start_ns) / 1'000'000) + " ms" +
             (life.ended ? "" : " (killed)");
  }
  MESSAGE("children, in order:" << story);
  for (std::size_t i = 1; i < all.size(); ++i) {
    INFO(all[i - 1].file << " " << all[i - 1].token << " then " << all[i].file << " " << all[i].token);
    CHECK((all[i].token.size() > all[i - 1].token.size() ||
           (all[i].token.size() == all[i - 1].token.size() && all[i].token > all[i - 1].token)));
  }
  check_never_two_leaders(cluster, 6);
}

TEST_CASE(
    "SIGSTOP of a whole replica: the fenced store never accepts the older term's writes after the newer's") {
  RunCluster c;
  LocalCluster& cluster = c.cluster;
  auto [a, child_a] = c.leader_with_child(0);
  std::this_thread::sleep_for(100ms);
  // Freeze the replica: its sidecar and its child together (a node that stalls, a paused VM).
  cluster.sidecar(a).signal(SIGSTOP);
  kill(pid_of(child_a), SIGSTOP);
  auto [b, child_b] = c.leader_with_child(child_a.start_ns + 1);
  REQUIRE(b != a);
  std::this_thread::sleep_for(200ms);  // the new child writes with its newer token
  // Thaw the child first, the sidecar 50 ms later: the deposed child acts before anyone can stop it.
  kill(pid_of(child_a), SIGCONT);
  std::this_thread::sleep_for(50ms);
  cluster.sidecar(a).signal(SIGCONT);
  const auto thawed = steady_clock::now();
  while (!exited(pid_of(child_a)) && steady_clock::now() - thawed < 5s) std::this_thread::sleep_for(5ms);
  CHECK(exited(pid_of(child_a)));  // its sidecar, past its renew deadline, killed it at once
  std::this_thread::sleep_for(100ms);

  // The store's own log, in the order it decided: accepted tokens never go down, and the deposed
  // child's writes after the newer term's first accepted one were all refused.
  std::ifstream store(c.dir + "/store.log");
  std::string verdict;
  std::string token;
  std::string who;
  long long at = 0;
  std::string highest;
  int refused_from_a = 0;
  int accepted_from_b = 0;
  const auto numeric_less = [](const std::string& x, const std::string& y) {
    return x.size() < y.size() || (x.size() == y.size() && x < y);
  };
  while (store >> verdict >> token >> who >> at) {
    if (verdict == "accept") {
      CHECK_FALSE(numeric_less(token, highest));
      highest = token;
      if (who == cluster.identity(b)) ++accepted_from_b;
    } else {
      CHECK(numeric_less(token, highest));
      if (who == cluster.identity(a)) ++refused_from_a;
    }
    if (who == cluster.identity(a) && accepted_from_b > 0) CHECK(verdict == "refuse");
  }
  CHECK(accepted_from_b > 0);
  CHECK(refused_from_a > 0);  // the thawed child did try, and the token stopped it
  CHECK(numeric_less(child_a.token, child_b.token));
  MESSAGE("writes of the deposed child refused by the fenced store: " << refused_from_a);
  check_never_two_leaders(cluster, 2);
}

TEST_CASE("a command that cannot be started is logged and retried with a back-off, never a crash") {
  LocalCluster cluster(options());
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.start_sidecar(0, {"--run-grace", kGrace, "--", "/nonexistent/leader-work", "--flag"});
  REQUIRE(cluster.wait_for_leader(20s));
  std::this_thread::sleep_for(3500ms);  // starts at 0, 1 s, 3 s (back-off 1 s, 2 s)
  REQUIRE(cluster.sidecar(0).running());
  const std::string log = cluster.sidecar(0).log();
  std::size_t failures = 0;
  for (auto at = log.find("run: cannot run /nonexistent/leader-work: No such file or directory");
       at != std::string::npos; at = log.find("run: cannot run /nonexistent/leader-work", at + 1)) {
    ++failures;
  }
  CHECK(failures >= 2);
  CHECK(failures <= 4);  // backed off, not a busy loop
  CHECK(log.find("starting it again after a back-off") != std::string::npos);
  CHECK(cluster.leader_view(0).is_leader);  // the replica still leads; only its command fails
}

TEST_CASE("--install-to copies the binary, which then runs from there (the chart's init container)") {
  const std::string dir =
      fs::temp_directory_path() / ("lease-elector-install-it-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const auto installed =
      le::testing::run_command({LEASE_ELECTOR_BINARY, "--install-to", dir + "/lease-elector"}, 10s);
  CHECK(installed.status == 0);
  CHECK(installed.output.find("installed lease-elector to " + dir + "/lease-elector") != std::string::npos);
  const auto version = le::testing::run_command({dir + "/lease-elector", "--version"}, 10s);
  CHECK(version.status == 0);
  CHECK(version.output.find("lease-elector ") == 0);
  const auto refused =
      le::testing::run_command({LEASE_ELECTOR_BINARY, "--install-to", "/nonexistent/x"}, 10s);
  CHECK(refused.status == 1);
  CHECK(refused.output.find("--install-to: cannot create /nonexistent/x.tmp-") != std::string::npos);
  fs::remove_all(dir);
}
