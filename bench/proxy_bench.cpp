#include "proxy_bench.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "http_client.h"
#include "local_cluster.h"
#include "loopback_socket.h"
#include "process.h"

namespace le::bench {

namespace {

using namespace std::chrono;
using le::testing::ChildProcess;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
namespace fs = std::filesystem;

constexpr double kMiB = 1024.0 * 1024.0;
// The memory target for the 100 MB transfers: less than 5 MB (decimal) of growth.
constexpr double kTransferGrowthLimitMiB = 5e6 / kMiB;

// --- Servers that fork (nginx) ---------------------------------------------------------------
//
// nginx's workers outlive a master killed with SIGKILL and keep serving the port, so each such
// server runs in a process group of its own (setsid) and is stopped by group. If the bench itself
// is interrupted, its handler kills the groups before it dies: an orphaned nginx would hold the
// port and skew every later run.
std::array<std::atomic<pid_t>, 4> server_groups{};

void kill_server_groups(int sig) {
  for (auto& group : server_groups) {
    const pid_t pgid = group.load();
    if (pgid > 0) ::kill(-pgid, SIGKILL);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto end_of_name = text.rfind(')');
    if (end_of_name == std::string::npos) continue;
    std::istringstream fields(text.substr(end_of_name + 2));
    std::string state;
    pid_t ppid = 0;
    if (fields >> state >> ppid && ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

class ServerGroup {
 public:
  ServerGroup(std::vector<std::string> argv, const std::string& log) {
    // A child of posix_spawn is no group leader, so setsid(1) calls setsid() and execs in place:
    // the server's pid is its group's id.
    argv.insert(argv.begin(), find_in_path("setsid"));
    process_ = std::make_unique<ChildProcess>(std::move(argv), log);
    for (auto& group : server_groups) {
      pid_t free = 0;
      if (group.compare_exchange_strong(free, process_->pid())) break;
    }
  }
  ~ServerGroup() {
    const pid_t pgid = process_->pid();
    ::kill(-pgid, SIGTERM);
    process_->wait_for(seconds{5});
    ::kill(-pgid, SIGKILL);  // workers that did not stop with their master
    process_->kill_now();
    for (auto& group : server_groups) {
      pid_t mine = pgid;
      group.compare_exchange_strong(mine, 0);
    }
  }
  ServerGroup(const ServerGroup&) = delete;
  ServerGroup& operator=(const ServerGroup&) = delete;

  pid_t pid() const { return process_->pid(); }
  bool running() { return process_->running(); }
  std::string log() const { return process_->log(); }

 private:
  std::unique_ptr<ChildProcess> process_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// nginx as a plain reverse proxy, configured as its documentation has it for keep-alive to the
// upstream ("upstream ... keepalive", HTTP/1.1, an empty Connection) and for WebSocket (the Upgrade
// and Connection headers passed by a map), with lease-elector's shape: two workers, each with a
// listening socket of its own (reuseport) and up to 256 idle connections to the app.
// Buffering is off both ways: with it on, nginx spools a 100 MB upload to client_body_temp_path and
// a download beyond its memory buffers to proxy_temp_path before the other side sees the end, which
// is a disk benchmark; off, it relays through one buffer per request as lease-elector does, and its
// buffer is lease-elector's 64 KiB.
std::string nginx_config(const fs::path& dir, int port, int upstream_port) {
  const std::string d = dir.string();
  return "daemon off;\n"
         "worker_processes 2;\n"
         "pid " +
         d +
         "/nginx.pid;\n"
         "error_log " +
         d +
         "/nginx-error.log warn;\n"
         "events { worker_connections 16384; }\n"
         "http {\n"
         "  access_log off;\n"
         "  client_body_temp_path " +
         d +
         "/client-body;\n"
         "  proxy_temp_path " +
         d +
         "/proxy;\n"
         "  fastcgi_temp_path " +
         d +
         "/fastcgi;\n"
         "  uwsgi_temp_path " +
         d +
         "/uwsgi;\n"
         "  scgi_temp_path " +
         d +
         "/scgi;\n"
         // The defaults (1000 requests) would have wrk reconnect every 1000 requests; lease-elector
         // and HAProxy keep a connection as long as the client does.
         "  keepalive_requests 1000000;\n"
         "  keepalive_timeout 60s;\n"
         // Upgrade requests get 'Connection: upgrade'; all others an empty Connection, which keeps
         // the connection to the app alive (nginx's WebSocket and upstream keepalive documentation).
         "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }\n"
         "  upstream app {\n"
         "    server 127.0.0.1:" +
         std::to_string(upstream_port) +
         ";\n"
         "    keepalive 256;\n"
         "    keepalive_requests 1000000;\n"
         "    keepalive_timeout 60s;\n"
         "  }\n"
         "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) +
         " reuseport;\n"
         "    location / {\n"
         "      proxy_pass http://app;\n"
         "      proxy_http_version 1.1;\n"
         "      proxy_set_header Upgrade $http_upgrade;\n"
         "      proxy_set_header Connection $connection_upgrade;\n"
         "      proxy_buffering off;\n"
         "      proxy_request_buffering off;\n"
         "      proxy_buffer_size 64k;\n"
         // Unused without buffering, but nginx checks them against proxy_buffer_size.
         "      proxy_buffers 4 64k;\n"
         "      client_body_buffer_size 64k;\n"
         "      client_max_body_size 0;\n"
         "      proxy_read_timeout 3600s;\n"
         "      proxy_send_timeout 3600s;\n"
         "    }\n"
         "  }\n"
         "}\n";
}

// HAProxy in HTTP mode with two threads, idle server connections shared by any request (`http-reuse
// always`, as nginx's and lease-elector's pools do) and `timeout tunnel` for the WebSockets, which
// would otherwise be cut at `timeout client`.
std::string haproxy_config(int port, int upstream_port) {
  return "global\n"
         "  nbthread 2\n"
         // lease-elector's default cap; HAProxy wants two descriptors a connection within the
         // open-file limit the bench has.
         "  maxconn 4096\n"
         "defaults\n"
         "  mode http\n"
         "  option http-keep-alive\n"
         "  http-reuse always\n"
         "  timeout connect 5s\n"
         "  timeout client 60s\n"
         "  timeout server 60s\n"
         "  timeout http-keep-alive 60s\n"
         "  timeout tunnel 1h\n"
         "frontend proxy\n"
         "  bind 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "  default_backend app\n"
         "backend app\n"
         "  server app 127.0.0.1:" +
         std::to_string(upstream_port) + "\n";
}

std::string url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// Until GET `path` answers 200 through `port`, or fails naming `what`.
void wait_until_serving(int port, const std::string& path, const std::string& what,
                        const std::function<std::string()>& log) {
  le::testing::HttpClient http;
  for (const auto until = steady_clock::now() + seconds{30}; steady_clock::now() < until;) {
    if (http.get(url(port, path), milliseconds{1000}).status == 200) return;
    std::this_thread::sleep_for(milliseconds{50});
  }
  throw std::runtime_error(what + " does not answer GET " + path + " on port " + std::to_string(port) +
                           (log ? ": " + log() : ""));
}

// What the figures are taken through: the app itself or a proxy in front of it.
struct Target {
  std::string name;
  int port = 0;
  // The processes whose resident memory is the proxy's (nginx: its workers); none for the app.
  std::function<std::vector<pid_t>()> processes;
};

double rss_mib(const Target& target) {
  double total = 0;
  if (target.processes)
    for (const pid_t pid : target.processes()) total += usage_of(pid).rss_mib;
  return total;
}

// --- Transfers -------------------------------------------------------------------------------

struct Transfer {
  double seconds = 0;
  double rss_before = 0, rss_peak = 0, rss_after = 0;  // MiB
  std::string error;
  double growth() const { return rss_peak - rss_before; }
};

// One curl(1) run, with the proxy's resident memory sampled every 20 ms meanwhile: the peak, not
// only the end, is what must stay flat.
Transfer transfer(const Target& target, const std::vector<std::string>& curl_args, std::uint64_t bytes,
                  const std::string& size_field) {
  Transfer result;
  result.rss_before = rss_mib(target);
  result.rss_peak = result.rss_before;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      result.rss_peak = std::max(result.rss_peak, rss_mib(target));
      std::this_thread::sleep_for(milliseconds{20});
    }
  });
  std::vector<std::string> argv{
      find_in_path("curl"), "-sS", "-o",
      "/dev/null",          "-w",  "%{http_code} %{" + size_field + "} %{time_total}"};
  argv.insert(argv.end(), curl_args.begin(), curl_args.end());
  const auto run = le::testing::run_command(argv, seconds{300});
  done = true;
  sampler.join();
  result.rss_peak = std::max(result.rss_peak, rss_mib(target));
  result.rss_after = rss_mib(target);
  std::istringstream fields(run.output);
  int status = 0;
  double size = 0;
  fields >> status >> size >> result.seconds;
  if (run.status != 0 || status != 200 || static_cast<std::uint64_t>(size) != bytes) {
    result.error = "curl: exit " + std::to_string(run.status) + ", " + run.output;
  }
  return result;
}

// --- WebSockets ------------------------------------------------------------------------------

// RFC 6455's own example key and its answer (section 1.3): base64(SHA-1(key + GUID)).
constexpr const char* kWebSocketKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char* kWebSocketAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// A WebSocket opened through `port` by hand (the upgrade request, the 101), held open until
// destroyed. status_line is the answer's first line; fd is -1 unless it was a good 101.
class WebSocket {
 public:
  explicit WebSocket(int port) {
    fd_ = le::testing::connect_loopback(port);
    if (fd_ < 0) {
      // Out of descriptors is the bench's own limit, not the proxy's answer: stop the run.
      if (errno == EMFILE || errno == ENFILE) {
        throw std::runtime_error("socket(): no descriptor left for another WebSocket");
      }
      status_line_ = "connect failed";
      return;
    }
    const std::string request = std::string("GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\n") +
                                "Connection: Upgrade\r\nSec-WebSocket-Key: " + kWebSocketKey +
                                "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      status_line_ = "send failed";
      close();
      return;
    }
    std::string answer;
    char buffer[2048];
    while (answer.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    status_line_ = answer.substr(0, answer.find("\r\n"));
    if (status_line_.rfind("HTTP/1.1 101", 0) != 0 || answer.find(kWebSocketAccept) == std::string::npos) {
      close();
    }
  }
  ~WebSocket() { close(); }
  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  bool open() const { return fd_ >= 0; }
  const std::string& status_line() const { return status_line_; }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  std::string status_line_;
};

struct Idle {
  double rss_before = 0, rss_with = 0;  // MiB
  int opened = 0;
  std::string refused;  // the answer's status line when the proxy did not upgrade
};

Idle idle_websockets(const Target& target, int count) {
  Idle result;
  result.rss_before = rss_mib(target);
  std::vector<std::unique_ptr<WebSocket>> sockets;
  for (int i = 0; i < count; ++i) {
    auto socket = std::make_unique<WebSocket>(target.port);
    if (!socket->open()) {
      result.refused = socket->status_line();
      break;
    }
    sockets.push_back(std::move(socket));
    ++result.opened;
  }
  // Let the proxy's allocations settle (buffers freed after the handshakes) before reading it.
  std::this_thread::sleep_for(seconds{2});
  result.rss_with = rss_mib(target);
  return result;
}

// 1,000 WebSockets through a proxy hold 2,000 descriptors in it and 1,000 here; nginx, HAProxy and
// the sidecars inherit this limit.
void raise_file_limit(int websockets) {
  const rlim_t needed = static_cast<rlim_t>(websockets) * 3 + 512;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur >= needed) return;
  files.rlim_cur = std::min(std::max(files.rlim_max, needed), needed * 4);
  files.rlim_max = std::max(files.rlim_max, files.rlim_cur);
  if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
    throw std::runtime_error("the open-file limit is below " + std::to_string(needed) +
                             " and cannot be raised (ulimit -n): " + std::to_string(websockets) +
                             " WebSockets need it");
  }
}

// Signed: on a busy machine a percentile through a proxy can come out below the app's own, and
// that says the figure is noise, which a clamp to zero would hide.
std::string signed_ms(double value) { return (value >= 0 ? "+" : "") + fixed(value, 3); }

std::string cell_ms(double value, double direct) {
  return fixed(value, 3) + " (" + signed_ms(value - direct) + ")";
}

}  // namespace

void bench_proxy(const ProxyBenchSettings& s, const Report& report) {
  if (s.upstream.empty()) {
    std::cout << "Proxy: skipped (no --proxy-upstream app built; bench/run builds it)\n";
    return;
  }
  raise_file_limit(s.websockets);
  const auto previous_int = ::signal(SIGINT, kill_server_groups);
  const auto previous_term = ::signal(SIGTERM, kill_server_groups);
  struct RestoreSignals {
    decltype(previous_int) on_int, on_term;
    ~RestoreSignals() {
      ::signal(SIGINT, on_int);
      ::signal(SIGTERM, on_term);
    }
  } restore{previous_int, previous_term};

  const std::string wrk_d = std::to_string(s.wrk_duration.count()) + "s";
  std::cout << "Proxy: one Go app on loopback; lease-elector leader and follower (forward), nginx, HAProxy "
               "(2 workers each); wrk -d"
            << wrk_d << "\n";

  ClusterOptions options;
  options.apiserver_binary = s.apiserver;
  options.sidecar_binary = s.sidecar;
  options.lease_name = "bench";
  options.lease_duration = "15s";
  options.renew_deadline = "10s";
  options.retry_period = "2s";
  options.pod_ip_for_all = "127.0.0.1";  // each replica's proxy on a port of its own
  options.leader_answer_timeout = milliseconds{5000};
  options.extra_sidecar_flags = {"--log-level", "info"};
  LocalCluster cluster(options);
  const fs::path dir = cluster.work_dir();

  const int app_port = le::testing::free_loopback_port();
  ChildProcess app({s.upstream, "--listen", "127.0.0.1:" + std::to_string(app_port)},
                   (dir / "proxy-upstream.log").string());
  wait_until_serving(app_port, "/hello", "the upstream app", [&] { return app.log(); });

  // Replica 0 leads (it starts alone on a released Lease); replica 1 follows and forwards to it.
  const int leader_port = le::testing::free_loopback_port();
  const int follower_port = le::testing::free_loopback_port();
  const auto proxy_flags = [&](int port) {
    return std::vector<std::string>{"--route",          "proxy",
                                    "--proxy-listen",   "127.0.0.1:" + std::to_string(port),
                                    "--proxy-upstream", "127.0.0.1:" + std::to_string(app_port),
                                    "--proxy-follower", "forward"};
  };
  cluster.create_lease(LocalCluster::released_lease_spec());
  cluster.start_sidecar(0, proxy_flags(leader_port));
  const auto led = cluster.wait_for_leader(milliseconds{30000});
  if (!led || led->first != 0) throw std::runtime_error("replica 0 did not lead");
  cluster.start_sidecar(1, proxy_flags(follower_port));
  wait_until_serving(leader_port, "/hello", "lease-elector's leader",
                     [&] { return cluster.sidecar(0).log(); });
  // The follower forwards once its watch has the leader's address from the Lease.
  wait_until_serving(follower_port, "/hello", "lease-elector's follower",
                     [&] { return cluster.sidecar(1).log(); });

  const int nginx_port = le::testing::free_loopback_port();
  write_file(dir / "nginx.conf", nginx_config(dir, nginx_port, app_port));
  ServerGroup nginx({find_in_path("nginx"), "-p", dir.string(), "-e", (dir / "nginx-error.log").string(),
                     "-c", (dir / "nginx.conf").string()},
                    (dir / "nginx.log").string());
  wait_until_serving(nginx_port, "/hello", "nginx",
                     [&] { return nginx.log() + read_file(dir / "nginx-error.log"); });
  const int haproxy_port = le::testing::free_loopback_port();
  write_file(dir / "haproxy.cfg", haproxy_config(haproxy_port, app_port));
  ServerGroup haproxy({find_in_path("haproxy"), "-db", "-f", (dir / "haproxy.cfg").string()},
                      (dir / "haproxy.log").string());
  wait_until_serving(haproxy_port, "/hello", "HAProxy", [&] { return haproxy.log(); });

  const pid_t leader_pid = cluster.sidecar(0).pid();
  const pid_t follower_pid = cluster.sidecar(1).pid();
  const pid_t nginx_pid = nginx.pid();
  const pid_t haproxy_pid = haproxy.pid();
  const std::vector<Target> targets = {
      {"direct", app_port, nullptr},
      {"lease-elector leader", leader_port, [leader_pid] { return std::vector<pid_t>{leader_pid}; }},
      {"lease-elector follower", follower_port, [follower_pid] { return std::vector<pid_t>{follower_pid}; }},
      // The master only reads the configuration and watches its workers: the workers proxy.
      {"nginx", nginx_port, [nginx_pid] { return children_of(nginx_pid); }},
      {"haproxy", haproxy_port, [haproxy_pid] { return std::vector<pid_t>{haproxy_pid}; }},
  };
  const Target& direct = targets[0];
  const Target& leader = targets[1];
  const Target& nginx_target = targets[3];

  // Memory first, on proxies that have not served the wrk runs yet: freed buffers of 500 connections
  // would be reused by the transfers and the WebSockets, and their growth would not show.
  // 100 MB each way, the proxies' memory sampled meanwhile.
  const fs::path upload_file = dir / "upload.bin";
  {
    std::ofstream(upload_file).close();
    fs::resize_file(upload_file, s.transfer_bytes);  // a sparse file: reading it costs no disk
  }
  std::map<std::string, Transfer> downloads, uploads;
  for (const auto& target : targets) {
    downloads[target.name] =
        transfer(target, {url(target.port, "/download?bytes=" + std::to_string(s.transfer_bytes))},
                 s.transfer_bytes, "size_download");
    // Without `Expect: 100-continue`, which curl sends for large bodies: the figure is the transfer,
    // not how each proxy answers the expectation.
    uploads[target.name] = transfer(
        target, {"-X", "POST", "-H", "Expect:", "-T", upload_file.string(), url(target.port, "/upload")},
        s.transfer_bytes, "size_upload");
    for (const auto& [kind, t] :
         {std::pair{"download", &downloads[target.name]}, std::pair{"upload", &uploads[target.name]}}) {
      std::cout << "  100 MiB " << kind << " " << target.name << ": " << fixed(t->seconds, 2) << " s";
      if (target.processes)
        std::cout << ", RSS " << fixed(t->rss_before, 2) << " -> peak " << fixed(t->rss_peak, 2) << " -> "
                  << fixed(t->rss_after, 2) << " MiB";
      if (!t->error.empty()) std::cout << " FAILED: " << t->error;
      std::cout << "\n" << std::flush;
    }
  }
  fs::remove(upload_file);

  // Idle WebSockets: what holding them costs each proxy.
  std::map<std::string, Idle> idles;
  for (const auto& target : targets) {
    if (!target.processes) continue;
    const auto idle = idle_websockets(target, s.websockets);
    idles[target.name] = idle;
    std::cout << "  " << s.websockets << " idle WebSockets " << target.name << ": ";
    if (!idle.refused.empty() && idle.opened == 0) {
      std::cout << "not upgraded (" << idle.refused << ")\n";
    } else {
      std::cout << idle.opened << " open, RSS " << fixed(idle.rss_before, 2) << " -> "
                << fixed(idle.rss_with, 2) << " MiB"
                << (idle.refused.empty() ? "" : " (then refused: " + idle.refused + ")") << "\n";
    }
    std::cout << std::flush;
  }

  // Requests/s and latency: each connection count through every target in turn, so that a change
  // of the machine's load in the run touches all of them alike.
  const std::vector<WrkLoad> loads = {
      {1, 1, s.wrk_duration}, {2, 50, s.wrk_duration}, {2, 500, s.wrk_duration}};
  // By connection count, then by target.
  std::map<int, std::map<std::string, WrkResult>> load_results;
  // What the connections of the runs leave behind in each proxy (kept-alive pools, buffers, the
  // allocator's arenas) shows against its memory before them.
  std::map<std::string, double> rss_idle, rss_loaded;
  for (const auto& target : targets) rss_idle[target.name] = rss_mib(target);
  for (const auto& load : loads) {
    for (const auto& target : targets) {
      const auto result = run_wrk(url(target.port, "/hello"), load);
      std::cout << "  wrk -t" << load.threads << " -c" << load.connections << " " << target.name << ": "
                << fixed(result.requests_per_second, 0) << " requests/s, p50 " << fixed(result.p50_ms, 3)
                << " ms, p99 " << fixed(result.p99_ms, 3) << " ms";
      if (result.non_2xx > 0 || result.socket_errors > 0)
        std::cout << " (" << result.non_2xx << " non-2xx, " << result.socket_errors << " socket errors)";
      std::cout << "\n" << std::flush;
      load_results[load.connections][target.name] = result;
    }
  }

  for (const auto& target : targets) rss_loaded[target.name] = rss_mib(target);

  // The table for bench/README.md: every target side by side, then lease-elector's leader against nginx.
  std::cout << "\n| figure | direct | lease-elector leader | lease-elector follower | nginx | haproxy | "
               "leader / nginx |\n|---|---|---|---|---|---|---|\n";
  const auto row = [&](const std::string& figure, const std::function<std::string(const Target&)>& cell,
                       const std::string& ratio) {
    std::cout << "| " << figure;
    for (const auto& target : targets) std::cout << " | " << cell(target);
    std::cout << " | " << ratio << " |\n";
  };
  for (const auto& load : loads) {
    auto& by = load_results[load.connections];
    const std::string c = "-c" + std::to_string(load.connections);
    const auto& ours = by[leader.name];
    const auto& theirs = by[nginx_target.name];
    row(
        "requests/s, " + c, [&](const Target& t) { return fixed(by[t.name].requests_per_second, 0); },
        fixed(ours.requests_per_second / std::max(theirs.requests_per_second, 1.0), 2) + "x");
    for (const auto& [p, field] :
         {std::pair{"p50", &WrkResult::p50_ms}, std::pair{"p99", &WrkResult::p99_ms}}) {
      const double base = by[direct.name].*field;
      const double added_ours = ours.*field - base;
      const double added_theirs = theirs.*field - base;
      row(
          std::string(p) + " ms (added), " + c,
          [&](const Target& t) {
            return t.processes ? cell_ms(by[t.name].*field, base) : fixed(by[t.name].*field, 3);
          },
          // Both proxies' figures less the same direct one: when noise makes an added figure
          // negative, the comparison of the two is that of their own percentiles.
          added_ours > 0 && added_theirs > 0
              ? fixed(added_ours / added_theirs, 2) + "x added"
              : fixed(ours.*field / std::max(theirs.*field, 0.001), 2) + "x (not added)");
    }
  }
  row(
      "RSS MiB before / after the wrk runs",
      [&](const Target& t) {
        return t.processes ? fixed(rss_idle[t.name], 2) + " / " + fixed(rss_loaded[t.name], 2)
                           : std::string("-");
      },
      "");
  for (const auto& [kind, results] : {std::pair{"download", &downloads}, std::pair{"upload", &uploads}}) {
    auto& by = *results;
    row(
        std::string("100 MiB ") + kind + ", s", [&](const Target& t) { return fixed(by[t.name].seconds, 2); },
        fixed(by[leader.name].seconds / std::max(by[nginx_target.name].seconds, 0.001), 2) + "x time");
    row(
        std::string("100 MiB ") + kind + ", RSS MiB before / peak",
        [&](const Target& t) {
          return t.processes ? fixed(by[t.name].rss_before, 2) + " / " + fixed(by[t.name].rss_peak, 2) +
                                   " (+" + fixed(by[t.name].growth(), 2) + ")"
                             : std::string("-");
        },
        "");
  }
  row(
      std::to_string(s.websockets) + " idle WebSockets, RSS MiB before / with",
      [&](const Target& t) {
        if (!t.processes) return std::string("-");
        const auto& idle = idles[t.name];
        if (idle.opened == 0) return "not upgraded (" + idle.refused + ")";
        std::string text = fixed(idle.rss_before, 2) + " / " + fixed(idle.rss_with, 2) + " (" +
                           fixed((idle.rss_with - idle.rss_before) * 1024.0 / idle.opened, 1) + " KiB each)";
        if (idle.opened < s.websockets) text += ", only " + std::to_string(idle.opened) + " opened";
        return text;
      },
      "");

  // The targets, into the suite's summary, each with whether it was met.
  const auto verdict = [](bool met) { return std::string(met ? " (met)" : " (NOT met)"); };
  const auto& at50 = load_results[50];
  const auto& ours50 = at50.at(leader.name);
  const auto& nginx50 = at50.at(nginx_target.name);
  const double direct_p99 = at50.at(direct.name).p99_ms;
  const double throughput_ratio = ours50.requests_per_second / std::max(nginx50.requests_per_second, 1.0);
  report("proxy requests/s, wrk -t2 -c50 (nginx as baseline)", fixed(ours50.requests_per_second, 0),
         fixed(nginx50.requests_per_second, 0), fixed(throughput_ratio, 2) + "x",
         ">= nginx" + verdict(throughput_ratio >= 1.0));
  // Both less the same direct p99: comparing the added figures is comparing the p99s themselves.
  report("proxy added p99 latency, -c50 (nginx as baseline)", signed_ms(ours50.p99_ms - direct_p99) + " ms",
         signed_ms(nginx50.p99_ms - direct_p99) + " ms",
         signed_ms(ours50.p99_ms - nginx50.p99_ms) + " ms against nginx",
         "<= nginx" + verdict(ours50.p99_ms <= nginx50.p99_ms));
  double lowest = 1e9;
  for (const auto& load : loads) {
    const auto& by = load_results[load.connections];
    lowest = std::min(lowest, by.at(leader.name).requests_per_second /
                                  std::max(by.at(nginx_target.name).requests_per_second, 1.0));
  }
  report("proxy requests/s, lowest ratio to nginx over -c1/-c50/-c500", fixed(lowest, 2) + "x", "-", "-",
         ">= 0.8x" + verdict(lowest >= 0.8));
  for (const auto& [kind, results] : {std::pair{"download", &downloads}, std::pair{"upload", &uploads}}) {
    const auto& ours = results->at(leader.name);
    report(std::string("proxy RSS growth over a 100 MiB ") + kind + " (peak - before)",
           fixed(ours.growth(), 2) + " MiB" + (ours.error.empty() ? "" : " (FAILED)"),
           fixed(results->at(nginx_target.name).growth(), 2) + " MiB (nginx)", "-",
           "< " + fixed(kTransferGrowthLimitMiB, 2) + " MiB (5 MB)" +
               verdict(ours.error.empty() && ours.growth() < kTransferGrowthLimitMiB));
  }
  const auto& idle = idles[leader.name];
  report("proxy RSS with " + std::to_string(s.websockets) + " idle WebSockets",
         idle.opened == 0 ? "not upgraded (" + idle.refused + ")"
                          : "+" + fixed(idle.rss_with - idle.rss_before, 2) + " MiB",
         "+" + fixed(idles[nginx_target.name].rss_with - idles[nginx_target.name].rss_before, 2) +
             " MiB (nginx)",
         "-", "");
}

}  // namespace le::bench
