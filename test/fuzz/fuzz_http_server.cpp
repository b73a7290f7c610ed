// libFuzzer target: raw bytes from a client through the real HTTP server (Beast parser, limits,
// keep-alive and pipelining, the router and the election routes), over a loopback socket. Each
// input is one connection: written, half-closed, and read until the server closes it. The server
// must answer or close, and keep serving the next connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/election_routes.h"
#include "http/server.h"

namespace {

struct Fixture {
  le::election::SystemClock clock;
  le::election::SnapshotBoard board;
  boost::asio::io_context io;
  std::unique_ptr<le::http::Server> server;
  std::thread thread;
  int port = 0;

  Fixture() {
    spdlog::set_level(spdlog::level::off);
    auto snapshot = std::make_shared<le::election::ElectionSnapshot>();
    snapshot->identity = "fuzz";
    snapshot->lease = "default/fuzz";
    board.publish(snapshot);
    le::http::ServerLimits limits;
    limits.read_timeout = std::chrono::milliseconds{500};
    // A long poll or an event stream would hold the connection for minutes; the harness waits for
    // the server to close (5 s means it hung), so deferred answers get half a second here.
    limits.deferred_timeout = std::chrono::milliseconds{500};
    server = std::make_unique<le::http::Server>(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
        le::http::make_election_route_table(board, clock,
                                            le::http::LeaderFeed::create(io.get_executor(), board, clock)),
        limits);
    port = server->local_endpoint().port();
    thread = std::thread([this] { io.run(); });
  }
};

Fixture& fixture() {
  static Fixture* f = new Fixture();  // never destroyed: libFuzzer exits without unwinding
  return *f;
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  // The server closes within its read timeout (500 ms) or its lingering close (1 s); 5 s means it
  // hung.
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  // Close with a reset: this side closes first, and tens of thousands of connections in
  // TIME_WAIT would use up the ephemeral ports (connect failed after ~62,000 executions).
  linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::fprintf(stderr, "fuzz_http_server: connect: %s\n", std::strerror(errno));
    std::abort();
  }
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = fixture();
  const int fd = connect_to(f.port);
  std::size_t sent = 0;
  while (sent < size) {
    const auto n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's SIGALRM watchdog
    if (n <= 0) break;  // the server may close early (an oversized header): that is allowed
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buffer[4096];
  for (;;) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's SIGALRM watchdog, not the server
    if (n == 0 || (n < 0 && errno == ECONNRESET)) break;
    if (n < 0) {
      std::fprintf(stderr, "fuzz_http_server: no close from the server: %s\n", std::strerror(errno));
      std::abort();
    }
  }
  ::close(fd);
  return 0;
}
