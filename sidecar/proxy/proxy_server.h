#pragma once
// --route proxy: the Service's traffic arrives here on every replica. On the leader each request
// (or, in TCP mode, each connection) goes to the local app while the term it was let through in
// holds (TermGate); on a follower it goes to the leader's proxy (forward), is answered 503 (reject)
// or 307 to the leader (redirect). HTTP/1.1 with keep-alive on both sides, bodies streamed in both
// directions with back-pressure (never held whole), upgrades (WebSocket) tunnelled.
//
// Workers as nginx has them: each of `threads` threads runs an io_context of its own with its own
// listening socket on the same port (SO_REUSEPORT: the kernel spreads connections) and its own
// pool of idle connections to the app, so a request never takes a lock on its way through.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "proxy/forwarding.h"
#include "proxy/proxy_metrics.h"
#include "proxy/term_gate.h"

namespace le::proxy {

// Where the leader's proxy is, as the leader published it in the Lease (leader_address.h): only for
// the term the Lease names now.
struct LeaderLookup {
  std::string holder;  // "" when nobody holds the Lease
  std::optional<boost::asio::ip::tcp::endpoint> proxy;
  std::string acquire_time;  // of the term `proxy` belongs to
  std::string why_none;      // when proxy is empty: why, for the 503's message
  bool own = false;          // the holder is this replica (stopping or stepping down)
};

struct ProxySettings {
  enum class Follower { forward, reject, redirect } follower = Follower::reject;
  bool tcp = false;  // whole connections instead of HTTP requests
  boost::asio::ip::tcp::endpoint upstream;
  TrustedPeers trusted;
  std::chrono::nanoseconds connect_timeout{std::chrono::seconds{5}};
  std::chrono::nanoseconds idle_timeout{std::chrono::seconds{60}};
  std::uint64_t max_body = 0;  // 0: no limit
  std::uint32_t header_limit = 64 * 1024;
  std::size_t max_connections = 4096;  // client connections at once, over all workers
  int threads = 2;
  // Where the leader's proxy is; called per request on a follower (forward, redirect).
  std::function<LeaderLookup()> leader;
  // How long a follower tells clients to wait before they try again (Retry-After).
  std::chrono::seconds retry_after{1};
};

class ProxyServer {
 public:
  // Binds every worker's socket at once (throws std::system_error naming the address); serves once
  // start() has run.
  ProxyServer(const boost::asio::ip::tcp::endpoint& listen, ProxySettings settings,
              std::shared_ptr<TermGate> gate, std::shared_ptr<ProxyMetrics> metrics);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  void start();
  // Closes the listeners and every connection, and joins the workers. Idempotent.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_endpoint_; }
  // TCP mode: where followers' proxies forward to (each connection begins with a line naming the
  // term, "LEASE-ELECTOR-HOP IDENTITY ACQUIRE_TIME"); the port is the kernel's choice. A TCP
  // connection has no header to carry the hop in, and a server-speaks-first protocol would wait
  // forever for one on the clients' port. Port 0 in HTTP mode.
  boost::asio::ip::tcp::endpoint hop_endpoint() const { return hop_endpoint_; }

  struct Shared;
  struct Worker;

 private:
  std::shared_ptr<Shared> shared_;  // outlives every worker
  std::vector<std::unique_ptr<Worker>> workers_;
  boost::asio::ip::tcp::endpoint local_endpoint_;
  boost::asio::ip::tcp::endpoint hop_endpoint_;
  bool stopped_ = false;
};

}  // namespace le::proxy
