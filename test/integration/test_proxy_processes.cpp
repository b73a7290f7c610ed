// --route proxy with real sidecar processes, each with an app of its own (RecordingApp) behind its
// proxy. Split brain, judged from what the apps received against the sidecars' leadership logs
// (both on CLOCK_BOOTTIME): no byte may reach an app while another replica leads, nor before its
// own replica's term began; after a step-down not even after its own term's end. An upload is kept
// open through each handover, so a proxy that let a begun exchange outlive its term would be seen.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "leadership_terms.h"
#include "local_cluster.h"
#include "loopback_socket.h"
#include "recording_app.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::boot_now_ns;
using le::testing::ClusterOptions;
using le::testing::HttpAnswer;
using le::testing::HttpClient;
using le::testing::LocalCluster;
using le::testing::LoggedTerm;
using le::testing::RecordingApp;
using nlohmann::json;

namespace {

ClusterOptions options(std::string release_delay) {
  ClusterOptions o;
  o.apiserver_binary = FAKE_APISERVER_BINARY;
  o.sidecar_binary = LEASE_ELECTOR_BINARY;
  o.release_delay = std::move(release_delay);
  o.leader_answer_timeout = 5s;
  return o;
}

std::vector<std::string> proxy_flags(const RecordingApp& app, int proxy_port) {
  return {"--route",          "proxy",       "--proxy-listen",   "127.0.0.1:" + std::to_string(proxy_port),
          "--proxy-upstream", app.address(), "--proxy-follower", "reject"};
}

std::string proxy_url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// Two replicas with their apps: replica 0 leads, replica 1 follows and has seen the Lease.
struct Pair {
  explicit Pair(std::string release_delay) : cluster(options(std::move(release_delay))) {
    cluster.start_sidecar(0, proxy_flags(app0, proxy0));
    REQUIRE(cluster.wait_for_leader(10s));
    cluster.start_sidecar(1, proxy_flags(app1, proxy1));
    // The follower names the holder (in its 503s too) once its /leader does.
    const auto deadline = steady_clock::now() + 10s;
    while (steady_clock::now() < deadline && cluster.leader_view(1).name != "replica-0") {
      std::this_thread::sleep_for(20ms);
    }
  }
  LocalCluster cluster;
  RecordingApp app0{"app-0"}, app1{"app-1"};
  int proxy0 = le::testing::free_loopback_port(), proxy1 = le::testing::free_loopback_port();
};

// A client that uploads a chunked body through a proxy, one small chunk every 20 ms, until the
// proxy breaks the connection off or `limit` has passed: a long exchange to keep open through a
// handover.
class SlowUpload {
 public:
  SlowUpload(int port, milliseconds limit) {
    thread_ = std::thread([this, port, limit] { run(port, limit); });
  }
  ~SlowUpload() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  // When a send or the read of the answer failed (0: it never did).
  std::int64_t broken_ns() const { return broken_ns_; }
  int chunks_sent() const { return chunks_; }
  bool answered() const { return answered_; }

 private:
  void run(int port, milliseconds limit) {
    // No receive timeout: the upload's reads look without waiting, and its last one waits for the
    // answer as long as the proxy takes.
    const int fd = le::testing::connect_loopback(port, seconds{0});
    if (fd < 0) {
      broken_ns_ = boot_now_ns();
      return;
    }
    const auto send_all = [&](const std::string& data) {
      return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
    };
    bool ok = send_all("POST /upload HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto until = steady_clock::now() + limit;
    while (ok && steady_clock::now() < until) {
      ok = send_all("5\r\nhello\r\n");
      if (ok) ++chunks_;
      // A reset shows on the next send; a peer's close only on a read, so look without waiting.
      char byte;
      const auto n = ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ok = false;
      std::this_thread::sleep_for(20ms);
    }
    if (ok) {
      ok = send_all("0\r\n\r\n");
      char answer[512];
      const auto n = ::recv(fd, answer, sizeof answer, 0);
      answered_ = n > 0 && std::string(answer, static_cast<std::size_t>(n)).rfind("HTTP/1.1 200", 0) == 0;
      ok = answered_;
    }
    if (!ok) broken_ns_ = boot_now_ns();
    ::close(fd);
  }

  std::thread thread_;
  std::atomic<std::int64_t> broken_ns_{0};
  std::atomic<int> chunks_{0};
  std::atomic<bool> answered_{false};
};

// One request written as is (headers a client could forge), with Connection: close; the whole answer.
std::string raw_request(int port, const std::string& request) {
  const int fd = le::testing::connect_loopback(port, seconds{5});
  std::string answer;
  if (fd >= 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  }
  if (fd >= 0) ::close(fd);
  return answer;
}

// A raw client connection, for what HttpClient does not do (an upgrade, then raw bytes).
class Connection {
 public:
  explicit Connection(int port) : fd_(le::testing::connect_loopback(port, seconds{5})) {}
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool send(const std::string& data) {
    return fd_ >= 0 &&
           ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Done sending: the peer reads an end, and may still answer.
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }
  // Reads until `end` has arrived (returns what came, up to and including it); "" when the
  // connection ended or broke first, or 5 s passed.
  std::string receive_until(const std::string& end) {
    char chunk[4096];
    while (received_.find(end) == std::string::npos) {
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      received_.append(chunk, static_cast<std::size_t>(n));
    }
    const auto at = received_.find(end) + end.size();
    std::string out = received_.substr(0, at);
    received_.erase(0, at);
    return out;
  }

 private:
  int fd_;  // -1: the connection failed
  std::string received_;
};

// Every moment app `replica` received bytes: never inside another replica's term, never before a
// term of its own began, and (strict) never after the end of that term.
void check_received_inside_terms(const RecordingApp& app, std::size_t replica,
                                 const std::vector<LoggedTerm>& terms, bool strict) {
  for (const auto& exchange : app.exchanges()) {
    for (const std::int64_t t : exchange.received_ns) {
      INFO("replica " << replica << ", " << exchange.target << ", received at " << t);
      const LoggedTerm* own = nullptr;
      for (const auto& term : terms) {
        if (term.replica == replica && term.start_boot_ns <= t &&
            (!own || term.start_boot_ns > own->start_boot_ns))
          own = &term;
        if (term.replica != replica) {
          CHECK_FALSE((term.start_boot_ns <= t && t <= term.end_boot_ns));
        }
      }
      REQUIRE(own != nullptr);
      if (strict) CHECK(t <= own->end_boot_ns);
    }
  }
}

}  // namespace

TEST_CASE(
    "the leader's proxy reaches its own app with the fencing token, a follower's answers 503 - and a "
    "step-down resets an open upload at once") {
  Pair pair("0s");
  auto& cluster = pair.cluster;
  auto &app0 = pair.app0, &app1 = pair.app1;
  const int proxy0 = pair.proxy0, proxy1 = pair.proxy1;
  HttpClient client;

  const auto leader = cluster.leader_view(0);
  REQUIRE(leader.is_leader);
  const std::string token = leader.body.value("fencingToken", "");
  CHECK_FALSE(token.empty());
  const auto through_leader = client.get(proxy_url(proxy0, "/hello"));
  CHECK(through_leader.status == 200);
  CHECK(through_leader.body == "app-0 " + token);
  // Keep-alive to the app: a second request on the kept connection is answered the same.
  CHECK(client.get(proxy_url(proxy0, "/hello")).body == "app-0 " + token);
  const auto through_follower = client.get(proxy_url(proxy1, "/hello"));
  CHECK(through_follower.status == 503);
  const auto refusal = json::parse(through_follower.body, nullptr, false);
  CHECK(refusal.value("reason", "") == "not-leader");
  INFO("the follower's answer: " << through_follower.body);
  CHECK(refusal.value("error", "").find("the leader is replica-0") != std::string::npos);

  // A WebSocket through the leader's proxy: upgraded, then tunnelled both ways.
  Connection websocket(proxy0);
  CHECK(websocket.send("GET /ws HTTP/1.1\r\nHost: svc\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
  CHECK(websocket.receive_until("\r\n\r\n").rfind("HTTP/1.1 101", 0) == 0);
  CHECK(websocket.send("ping-1"));
  CHECK(websocket.receive_until("ping-1") == "ping-1");

  // An upload through the leader's proxy, then a step-down in its middle.
  SlowUpload upload(proxy0, 10s);
  std::this_thread::sleep_for(300ms);
  const std::int64_t step_down_ns = boot_now_ns();
  cluster.sidecar(0).signal(SIGUSR1);
  upload.join();
  CHECK(upload.chunks_sent() > 3);
  REQUIRE(upload.broken_ns() > 0);
  // Reset at once (well within a second even on a loaded machine), not at the release.
  CHECK(upload.broken_ns() - step_down_ns < duration_cast<nanoseconds>(1s).count());
  // The WebSocket was reset with the term: the next exchange finds it closed.
  websocket.send("ping-2");
  CHECK(websocket.receive_until("ping-2").empty());
  // The app saw the upload cut off, never complete.
  bool saw_upload = false;
  for (const auto& exchange : app0.exchanges()) {
    if (exchange.target != "/upload") continue;
    saw_upload = true;
    CHECK_FALSE(exchange.complete);
    CHECK(exchange.broken_ns > 0);
  }
  CHECK(saw_upload);

  // Replica 1 takes over after the step-down delay; its proxy now reaches its own app.
  REQUIRE(cluster.wait_for_leader(10s, 0));
  CHECK(client.get(proxy_url(proxy1, "/hello")).body.rfind("app-1 ", 0) == 0);
  CHECK(client.get(proxy_url(proxy0, "/hello")).status == 503);

  const auto terms = cluster.leadership_terms();
  check_received_inside_terms(app0, 0, terms, true);
  check_received_inside_terms(app1, 1, terms, true);
  CHECK(cluster.sidecar(0).log().find("proxy: the term of an exchange") != std::string::npos);
}

TEST_CASE(
    "on SIGTERM the proxy takes no new request but lets an open upload go on, and resets it before the "
    "release") {
  Pair pair("1s");
  auto& cluster = pair.cluster;
  auto& app0 = pair.app0;
  const int proxy0 = pair.proxy0;
  HttpClient client;

  SlowUpload upload(proxy0, 10s);
  std::this_thread::sleep_for(200ms);
  const std::int64_t sigterm_ns = boot_now_ns();
  cluster.sidecar(0).signal(SIGTERM);
  std::this_thread::sleep_for(200ms);
  // No new request during the release delay: this replica no longer leads, and nobody else does yet.
  const auto during = client.get(proxy_url(proxy0, "/hello"));
  CHECK(during.status == 503);
  upload.join();
  REQUIRE(upload.broken_ns() > 0);
  REQUIRE(cluster.wait_for_leader(10s, 0));
  // A clean exit: under the sanitizers, also nothing they found on the way out.
  CHECK(cluster.sidecar(0).wait_for(10s) == std::optional<int>{0});

  // The upload went on into the release delay: the app received chunks well after the SIGTERM.
  std::int64_t last_received = 0;
  for (const auto& exchange : app0.exchanges()) {
    if (exchange.target != "/upload") continue;
    CHECK_FALSE(exchange.complete);
    for (const auto t : exchange.received_ns) last_received = std::max(last_received, t);
  }
  CHECK(last_received - sigterm_ns > duration_cast<nanoseconds>(500ms).count());
  // ... and stopped before the next leader's term: never two apps at work.
  const auto terms = cluster.leadership_terms();
  const auto next = le::testing::first_term_after(terms, sigterm_ns, 0);
  REQUIRE(next);
  CHECK(last_received < next->start_boot_ns);
  check_received_inside_terms(app0, 0, terms, false);
  const std::string log = cluster.sidecar(0).log();
  const auto reset_at = log.find("proxy: the term of an exchange");
  const auto released_at = log.find("released lease");
  REQUIRE(reset_at != std::string::npos);
  REQUIRE(released_at != std::string::npos);
  CHECK(reset_at < released_at);
}

TEST_CASE(
    "a follower's proxy forwards to the leader's at the address the Lease names, only for that term, "
    "never on again - and a redirecting follower answers 307") {
  auto o = options("0s");
  o.pod_ip_for_all = "127.0.0.1";  // every replica's proxy on loopback, each on its own port
  LocalCluster cluster(o);
  RecordingApp app0("app-0"), app1("app-1"), app2("app-2");
  const int proxy0 = le::testing::free_loopback_port(), proxy1 = le::testing::free_loopback_port(),
            proxy2 = le::testing::free_loopback_port();
  const auto flags = [](const RecordingApp& app, int port, const char* follower) {
    return std::vector<std::string>{
        "--route",          "proxy",       "--proxy-listen",   "127.0.0.1:" + std::to_string(port),
        "--proxy-upstream", app.address(), "--proxy-follower", follower};
  };
  cluster.start_sidecar(0, flags(app0, proxy0, "forward"));
  REQUIRE(cluster.wait_for_leader(10s));
  cluster.start_sidecar(1, flags(app1, proxy1, "forward"));
  cluster.start_sidecar(2, flags(app2, proxy2, "redirect"));
  const auto deadline = steady_clock::now() + 10s;
  while (steady_clock::now() < deadline &&
         (cluster.leader_view(1).name != "replica-0" || cluster.leader_view(2).name != "replica-0")) {
    std::this_thread::sleep_for(20ms);
  }

  // The annotation as stored: the leader's address, with the term it belongs to.
  const json lease = cluster.read_lease();
  const json annotation =
      json::parse(lease["metadata"]["annotations"]["lease-elector.io/leader-address"].get<std::string>());
  CHECK(annotation["holderIdentity"] == "replica-0");
  CHECK(annotation["acquireTime"] == lease["spec"]["acquireTime"]);
  CHECK(annotation["address"] == "127.0.0.1:" + std::to_string(proxy0));

  HttpClient client;
  const std::string token = cluster.leader_view(0).body.value("fencingToken", "");
  const auto forwarded = client.get(proxy_url(proxy1, "/hello"));
  CHECK(forwarded.status == 200);
  CHECK(forwarded.body == "app-0 " + token);
  const std::string redirected =
      raw_request(proxy2, "GET /hello?x=1 HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n");
  CHECK(redirected.rfind("HTTP/1.1 307", 0) == 0);
  CHECK(redirected.find("Location: http://127.0.0.1:" + std::to_string(proxy0) + "/hello?x=1\r\n") !=
        std::string::npos);

  // The hop header: served only by the leader of exactly that term, never forwarded again.
  const std::string hop =
      "Lease-Elector-Hop: replica-0 " + annotation["acquireTime"].get<std::string>() + "\r\n";
  const std::string stale = "Lease-Elector-Hop: replica-0 2020-01-01T00:00:00.000000Z\r\n";
  const auto with_hop = [](const std::string& header) {
    return "GET /hello HTTP/1.1\r\nHost: svc\r\n" + header + "Connection: close\r\n\r\n";
  };
  CHECK(raw_request(proxy0, with_hop(hop)).find("app-0 " + token) != std::string::npos);
  const std::string wrong_term = raw_request(proxy0, with_hop(stale));
  CHECK(wrong_term.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(wrong_term.find("not-leader-of-that-term") != std::string::npos);
  const std::size_t app0_before = app0.exchanges().size();
  const std::string at_follower = raw_request(proxy1, with_hop(hop));
  CHECK(at_follower.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(at_follower.find("not-leader-of-that-term") != std::string::npos);
  CHECK(app0.exchanges().size() == app0_before);

  // A handover: the forwarding follower now serves from its own app, and the annotation follows.
  cluster.sidecar(0).signal(SIGTERM);
  const auto next = cluster.wait_for_leader(10s, 0);
  REQUIRE(next);
  const std::size_t leader = next->first;
  const int leader_proxy = leader == 1 ? proxy1 : proxy2;
  const auto moved = json::parse(
      cluster.read_lease()["metadata"]["annotations"]["lease-elector.io/leader-address"].get<std::string>());
  CHECK(moved["address"] == "127.0.0.1:" + std::to_string(leader_proxy));
  const std::string new_token = cluster.leader_view(leader).body.value("fencingToken", "");
  const int follower_proxy = leader == 1 ? proxy2 : proxy1;
  // The other one follows once it has seen the new record (until then it answers 503).
  HttpAnswer answer = client.get(proxy_url(follower_proxy, "/hello"));
  const auto seen_by = steady_clock::now() + 5s;
  while (answer.status == 503 && steady_clock::now() < seen_by) {
    std::this_thread::sleep_for(20ms);
    answer = client.get(proxy_url(follower_proxy, "/hello"));
  }
  if (leader == 2) {
    CHECK(answer.body == "app-2 " + new_token);
  } else {
    // Replica 2 redirects rather than forwards.
    CHECK(answer.status == 307);
  }
  CHECK(client.get(proxy_url(leader_proxy, "/hello")).body ==
        "app-" + std::to_string(leader) + " " + new_token);

  const auto terms = cluster.leadership_terms();
  check_received_inside_terms(app1, 1, terms, true);
  check_received_inside_terms(app2, 2, terms, true);
  check_received_inside_terms(app0, 0, terms, false);
}

// The correctness run: three replicas with proxies (forward), clients sending requests to
// every proxy, a WebSocket and an upload kept open, through handovers by SIGTERM, SIGKILL and a
// pause (SIGSTOP past the lease). Every request gets the leader's answer or a clean 503 or a
// refused or reset connection, none hangs past its timeout, and no app receives a byte while another
// replica leads. LEASE_ELECTOR_PROXY_HANDOVERS sets the count (CI: 3, one of each; the issue asks for 100).
// 100 take about 3 minutes: run build/test/integration/proxy_integration_tests --test-case='through*'
// rather than ctest, whose TIMEOUT of 120 s for this test is not raised by its --timeout flag.
TEST_CASE(
    "through handovers by SIGTERM, SIGKILL and pause every request gets the leader's answer or a clean "
    "refusal, and no app receives a byte while another replica leads") {
  const char* count_text = std::getenv("LEASE_ELECTOR_PROXY_HANDOVERS");
  const int handovers = count_text ? std::atoi(count_text) : 3;
  auto o = options("200ms");
  o.pod_ip_for_all = "127.0.0.1";
  LocalCluster cluster(o);
  std::vector<std::unique_ptr<RecordingApp>> apps;
  std::vector<int> proxies;
  std::vector<std::vector<std::string>> flags;
  for (std::size_t i = 0; i < 3; ++i) {
    apps.push_back(std::make_unique<RecordingApp>("app-" + std::to_string(i)));
    proxies.push_back(le::testing::free_loopback_port());
    flags.push_back({"--route", "proxy", "--proxy-listen", "127.0.0.1:" + std::to_string(proxies[i]),
                     "--proxy-upstream", apps[i]->address()});
    cluster.start_sidecar(i, flags[i]);
  }
  REQUIRE(cluster.wait_for_leader(10s));

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, refused{0}, hung{0}, odd{0};
  std::atomic<std::int64_t> longest{0};  // ms
  std::mutex odd_mutex;
  std::vector<std::string> odd_answers;
  std::vector<std::thread> clients;
  for (std::size_t c = 0; c < 3; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client;
      for (std::size_t n = c; !stop; ++n) {
        const int port = proxies[n % proxies.size()];
        const auto started = steady_clock::now();
        // Longer than a pause lasts (3.5 s): a paused replica's proxy answers once it runs again, so
        // only a request nobody ever answers reaches it.
        const auto answer = client.get(proxy_url(port, "/hello"), 10s);
        const auto took = steady_clock::now() - started;
        std::int64_t longest_ms = longest.load();
        const auto took_ms = duration_cast<milliseconds>(took).count();
        while (took_ms > longest_ms && !longest.compare_exchange_weak(longest_ms, took_ms)) {
        }
        if (took >= 10s) {
          hung.fetch_add(1);
        } else if (answer.status == 200 && answer.body.rfind("app-", 0) == 0) {
          answered.fetch_add(1);
        } else if (answer.status == 503 || answer.status == 0) {
          refused.fetch_add(1);  // a clean 503, or a refused or reset connection (a killed replica)
        } else {
          odd.fetch_add(1);
          std::lock_guard lock(odd_mutex);
          odd_answers.push_back(std::to_string(answer.status) + " " + answer.body);
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  // A WebSocket kept open through whichever proxy answers, echoing every 20 ms; reopened when cut.
  std::atomic<int> echoes{0};
  clients.emplace_back([&] {
    for (std::size_t n = 0; !stop; ++n) {
      Connection websocket(proxies[n % proxies.size()]);
      if (!websocket.send(
              "GET /ws HTTP/1.1\r\nHost: svc\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n") ||
          websocket.receive_until("\r\n\r\n").rfind("HTTP/1.1 101", 0) != 0) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      for (int i = 0; !stop; ++i) {
        const std::string ping = "ping-" + std::to_string(i) + ";";
        if (!websocket.send(ping) || websocket.receive_until(ping).empty()) break;
        echoes.fetch_add(1);
        std::this_thread::sleep_for(20ms);
      }
    }
  });

  std::size_t leader = cluster.wait_for_leader(10s)->first;
  for (int k = 0; k < handovers; ++k) {
    // An upload through the leader's proxy, open across the handover.
    SlowUpload upload(proxies[leader], 3s);
    std::this_thread::sleep_for(100ms);
    const int kind = k % 3;
    INFO("handover " << k << " of replica " << leader << " by "
                     << (kind == 0   ? "SIGTERM"
                         : kind == 1 ? "SIGKILL"
                                     : "pause"));
    if (kind == 0) {
      cluster.sidecar(leader).signal(SIGTERM);
      REQUIRE(cluster.sidecar(leader).wait_for(10s));
    } else if (kind == 1) {
      cluster.sidecar(leader).kill_now();
    } else {
      // Frozen past its lease (2 s), so that another replica takes over meanwhile; then it runs on,
      // a deposed leader that has not heard of it yet. Resumed before the wait below, which would
      // otherwise wait on the frozen replica's /leader and stretch the pause.
      cluster.sidecar(leader).signal(SIGSTOP);
      std::this_thread::sleep_for(3500ms);
      cluster.sidecar(leader).signal(SIGCONT);
    }
    const auto next = cluster.wait_for_leader(15s, leader);
    REQUIRE(next);
    if (kind != 2) cluster.start_sidecar(leader, flags[leader]);
    leader = next->first;
    upload.join();
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : clients) t.join();

  MESSAGE(handovers << " handovers: " << answered.load() << " answered by an app, " << refused.load()
                    << " refused (503 or connection), " << echoes.load()
                    << " WebSocket echoes; the longest request " << longest.load() << " ms");
  CHECK(answered.load() > 0);
  CHECK(echoes.load() > 0);
  CHECK(hung.load() == 0);
  CHECK(odd.load() == 0);
  for (const auto& a : odd_answers) MESSAGE("odd answer: " << a);
  const auto terms = cluster.leadership_terms();
  for (std::size_t i = 0; i < apps.size(); ++i) check_received_inside_terms(*apps[i], i, terms, false);
}

TEST_CASE(
    "in TCP mode whole connections go to the leader's app, a follower forwards them through the leader's "
    "hop listener, and the term's end resets them") {
  auto o = options("0s");
  o.pod_ip_for_all = "127.0.0.1";
  LocalCluster cluster(o);
  RecordingApp app0("app-0"), app1("app-1");
  const int proxy0 = le::testing::free_loopback_port(), proxy1 = le::testing::free_loopback_port();
  const auto flags = [](const RecordingApp& app, int port) {
    return std::vector<std::string>{"--route",          "proxy",
                                    "--proxy-mode",     "tcp",
                                    "--proxy-listen",   "127.0.0.1:" + std::to_string(port),
                                    "--proxy-upstream", app.address()};
  };
  cluster.start_sidecar(0, flags(app0, proxy0));
  REQUIRE(cluster.wait_for_leader(10s));
  cluster.start_sidecar(1, flags(app1, proxy1));
  const auto deadline = steady_clock::now() + 10s;
  while (steady_clock::now() < deadline && cluster.leader_view(1).name != "replica-0") {
    std::this_thread::sleep_for(20ms);
  }
  // The annotation names the leader's hop listener, not its clients' port.
  const auto annotation = json::parse(
      cluster.read_lease()["metadata"]["annotations"]["lease-elector.io/leader-address"].get<std::string>());
  const std::string hop_address = annotation["address"];
  CHECK(hop_address.rfind("127.0.0.1:", 0) == 0);
  CHECK(hop_address != "127.0.0.1:" + std::to_string(proxy0));

  // Bytes pass untouched (no header is added in TCP mode): the app's own echo protocol, through the
  // leader's proxy and through the follower's.
  const auto echo_through = [](int port, const std::string& ping) {
    Connection connection(port);
    if (!connection.send("GET /ws HTTP/1.1\r\nHost: svc\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n") ||
        connection.receive_until("\r\n\r\n").rfind("HTTP/1.1 101", 0) != 0) {
      return false;
    }
    return connection.send(ping) && connection.receive_until(ping) == ping;
  };
  CHECK(echo_through(proxy0, "direct"));
  // A client that sends its request and shuts its side down still gets the whole answer.
  Connection half_closed(proxy1);
  CHECK(half_closed.send("GET /hello HTTP/1.1\r\nHost: svc\r\n\r\n"));
  half_closed.shutdown_send();
  CHECK(half_closed.receive_until("app-0").find("app-0") != std::string::npos);
  const auto before = app0.exchanges().size();
  CHECK(echo_through(proxy1, "forwarded"));
  CHECK(app0.exchanges().size() > before);
  CHECK(app1.exchanges().empty());

  // The hop listener serves only a hop line naming the current term: anything else is closed, and
  // the app hears nothing of it.
  const int hop_port = std::stoi(hop_address.substr(hop_address.rfind(':') + 1));
  const auto app0_before = app0.exchanges().size();
  CHECK(raw_request(hop_port, "GET /hello HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n").empty());
  CHECK(raw_request(hop_port,
                    "LEASE-ELECTOR-HOP replica-0 2020-01-01T00:00:00.000000Z\r\nGET /hello HTTP/1.1\r\n"
                    "Host: svc\r\nConnection: close\r\n\r\n")
            .empty());
  CHECK(app0.exchanges().size() == app0_before);
  const std::string hop_line =
      "LEASE-ELECTOR-HOP replica-0 " + annotation["acquireTime"].get<std::string>() + "\r\n";
  CHECK(raw_request(hop_port, hop_line + "GET /hello HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n")
            .find("app-0") != std::string::npos);

  // A connection open across a step-down is reset with the term; the next goes to the next leader.
  Connection held(proxy1);
  CHECK(held.send("GET /ws HTTP/1.1\r\nHost: svc\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n"));
  CHECK(held.receive_until("\r\n\r\n").rfind("HTTP/1.1 101", 0) == 0);
  cluster.sidecar(0).signal(SIGUSR1);
  std::this_thread::sleep_for(200ms);
  held.send("after");
  CHECK(held.receive_until("after").empty());
  REQUIRE(cluster.wait_for_leader(10s, 0));
  const auto moved_by = steady_clock::now() + 5s;
  bool moved = false;
  while (!moved && steady_clock::now() < moved_by) {
    moved = echo_through(proxy1, "next") && !app1.exchanges().empty();
    if (!moved) std::this_thread::sleep_for(50ms);
  }
  CHECK(moved);
  const auto terms = cluster.leadership_terms();
  check_received_inside_terms(app0, 0, terms, true);
  check_received_inside_terms(app1, 1, terms, true);
}
