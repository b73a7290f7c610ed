#pragma once
// The local HTTP server: Beast's async server shape (a listener that accepts, one session per
// connection kept alive by shared_from_this, a deadline per read and write). It serves a RouteTable
// whose handlers only read the election snapshot, so nothing here ever blocks.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/route_table.h"

namespace le::http {

// Bounds that keep a misbehaving or hostile local client from tying up the sidecar. The
// endpoints take no body and answer in microseconds, so the limits can be tight.
struct ServerLimits {
  // From the connection's first byte (or its accept) to a whole request read; a client that
  // connects and says nothing, or trickles a header in, is dropped after it (slowloris).
  std::chrono::milliseconds read_timeout{std::chrono::seconds{10}};
  // How long a kept-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{30}};
  // A client that does not read its response is dropped after this.
  std::chrono::milliseconds write_timeout{std::chrono::seconds{10}};
  // Request line plus headers; beyond it the answer is 431.
  std::uint32_t header_limit = 8 * 1024;
  // Beyond it the answer is 413.
  std::uint64_t body_limit = 64 * 1024;
  // Open connections; a new connection beyond the cap is closed at once, without a response,
  // so existing clients (the kubelet's probes among them) keep being served.
  std::size_t max_connections = 256;
  // The longest a deferred answer (a long poll, an event stream) may hold its connection before
  // the server closes it; none by default (a long poll bounds itself, a stream is meant to stay).
  std::optional<std::chrono::milliseconds> deferred_timeout;
};

class Listener;

class Server {
 public:
  // Binds and listens at once (throws std::system_error naming the address, e.g. "cannot listen
  // on 0.0.0.0:4040: Address already in use"), then accepts on `io_context` whenever it runs.
  // Port 0 picks a free port; see local_endpoint(). IPv4 and IPv6 both work; "::" also accepts
  // IPv4 where the system allows dual-stack sockets (Linux's default). One thread must run
  // `io_context`: a connection's handlers run on no strand (see below).
  Server(boost::asio::io_context& io_context, const boost::asio::ip::tcp::endpoint& endpoint,
         std::shared_ptr<const RouteTable> routes, ServerLimits limits = {});
  // The same on several io_contexts, each run by exactly one thread (asio's io_context-per-thread
  // design): the first accepts, and each connection lives on one of them in turn. A connection's
  // handlers then all run on one thread, so they need no strand, and no thread has to wake another
  // to go on with a request. An io_context run by several threads is not allowed here.
  Server(const std::vector<boost::asio::io_context*>& io_contexts,
         const boost::asio::ip::tcp::endpoint& endpoint, std::shared_ptr<const RouteTable> routes,
         ServerLimits limits = {});
  // Stops (see stop()).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound address, with the actual port when 0 was asked for.
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_endpoint_; }

  // Stops accepting and closes every open connection; once the handlers already queued have
  // run, the server holds no more work on the io_context. Safe from any thread, idempotent.
  void stop();

  // Open connections now; for tests and logs.
  std::size_t connection_count() const;

 private:
  std::shared_ptr<Listener> listener_;
  boost::asio::ip::tcp::endpoint local_endpoint_;
};

}  // namespace le::http
