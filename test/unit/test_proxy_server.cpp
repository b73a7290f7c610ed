// The proxy's HTTP engine in this process: a leader's proxy in front of a scripted app on loopback.
// What each case would catch: a request that reaches the app without its term's fencing token, a
// timeout that does not fire (a client or app that stalls holds a connection for ever), or one that
// fires on an exchange that is making progress (each read and write has its own deadline, not the
// exchange as a whole). Split brain at the gate is test_proxy_term_gate's and the integration
// tests'; here the gate always says this replica leads, or always that it follows.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "election/snapshot.h"
#include "http_snapshots.h"
#include "loopback_socket.h"
#include "proxy/proxy_metrics.h"
#include "proxy/proxy_server.h"
#include "proxy/term_gate.h"

using namespace std::chrono_literals;
namespace net = boost::asio;
using le::proxy::ProxyMetrics;
using le::proxy::ProxyServer;
using le::proxy::ProxySettings;
using le::proxy::TermGate;

namespace {

// A client connection to the proxy. A guard against a test that would hang: no answer in 10 s is a
// failure, not a wait.
int connect_to(int port) {
  const int fd = le::testing::connect_loopback(port, 10s);
  REQUIRE(fd >= 0);
  return fd;
}

bool send_all(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// Reads until the peer closes (or resets, or the guard passes); what came.
std::string read_to_end(int fd) {
  std::string all;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) all.append(buffer, static_cast<std::size_t>(n));
  return all;
}

// One request on a connection of its own (it says Connection: close); the whole answer.
std::string exchange(int port, const std::string& request) {
  const int client = connect_to(port);
  REQUIRE(send_all(client, request));
  std::string answer = read_to_end(client);
  ::close(client);
  return answer;
}

// Reads one request's head (to the blank line).
std::string read_head(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head.push_back(c);
  return head;
}

// An app that serves each connection it accepts with `script`, one at a time, on its own thread.
class ScriptedApp {
 public:
  explicit ScriptedApp(std::function<void(int fd)> script) : script_(std::move(script)) {
    listener_ = le::testing::listen_loopback(port_);
    thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0 || stopping_) {
          if (fd >= 0) ::close(fd);
          return;
        }
        timeval guard{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
        script_(fd);
        ::close(fd);
      }
    });
  }
  ~ScriptedApp() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }

 private:
  std::function<void(int)> script_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A proxy whose gate reads `snapshot` (leading by default) at a fixed instant of its term.
struct Proxy {
  explicit Proxy(int app_port, ProxySettings settings = {},
                 const le::election::ElectionSnapshot& snapshot = le::testing::leading_snapshot()) {
    clock.boot = le::testing::boot0 + 1s;
    clock.wall = le::testing::wall0 + 1s;
    auto s = snapshot;
    s.term = 7;
    s.fencing_token = "42";
    board.publish(std::make_shared<const le::election::ElectionSnapshot>(s));
    gate = TermGate::create(io.get_executor(), board, clock);
    board.add_observer(TermGate::board_observer(gate));
    settings.upstream = {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(app_port)};
    server = std::make_unique<ProxyServer>(net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), 0},
                                           std::move(settings), gate, metrics);
    server->start();
    gate_thread = std::thread([this] { io.run(); });
  }
  ~Proxy() {
    server->stop();
    gate->stop();
    work.reset();
    io.stop();
    gate_thread.join();
  }
  int port() const { return server->local_endpoint().port(); }

  le::testing::SetClock clock;
  le::election::SnapshotBoard board;
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  std::shared_ptr<TermGate> gate;
  std::shared_ptr<ProxyMetrics> metrics = std::make_shared<ProxyMetrics>();
  std::unique_ptr<ProxyServer> server;
  std::thread gate_thread;
};

ProxySettings with_idle_timeout(std::chrono::milliseconds timeout) {
  ProxySettings settings;
  settings.idle_timeout = timeout;
  return settings;
}

const std::string kGet = "GET /jobs HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n";

}  // namespace

TEST_CASE("a request through the leader's proxy reaches the app with its term's fencing token") {
  std::string seen;
  ScriptedApp app([&](int fd) {
    seen = read_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  });
  Proxy proxy(app.port());
  const std::string answer = exchange(proxy.port(), kGet);
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(answer.find("\r\n\r\nhello") != std::string::npos);
  CHECK(seen.find("Lease-Elector-Fencing-Token: 42\r\n") != std::string::npos);
  CHECK(seen.find("X-Forwarded-For: 127.0.0.1\r\n") != std::string::npos);
  CHECK(proxy.metrics->requests[ProxyMetrics::local].value() == 1);
}

TEST_CASE("a follower's proxy in reject mode sends nothing to the app and answers 503") {
  std::atomic<int> connections{0};
  ScriptedApp app([&](int) { ++connections; });
  Proxy proxy(app.port(), {}, le::testing::following_snapshot());
  const std::string answer = exchange(proxy.port(), kGet);
  CHECK(answer.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(answer.find("Retry-After: 1\r\n") != std::string::npos);
  CHECK(connections == 0);
}

TEST_CASE("an app that takes the request and never answers: 504 upstream-timeout after the idle timeout") {
  ScriptedApp app([](int fd) {
    read_head(fd);
    read_to_end(fd);  // until the proxy gives up and closes
  });
  Proxy proxy(app.port(), with_idle_timeout(300ms));
  const std::string answer = exchange(proxy.port(), kGet);
  CHECK(answer.rfind("HTTP/1.1 504", 0) == 0);
  CHECK(answer.find("\"reason\":\"upstream-timeout\"") != std::string::npos);
  CHECK(proxy.metrics->requests[ProxyMetrics::failed].value() == 1);
}

TEST_CASE("an app nobody listens for: 502 upstream-unreachable") {
  int port = 0;
  ::close(le::testing::listen_loopback(port));  // a port that was free a moment ago, and is closed now
  Proxy proxy(port);
  const std::string answer = exchange(proxy.port(), kGet);
  CHECK(answer.rfind("HTTP/1.1 502", 0) == 0);
  CHECK(answer.find("\"reason\":\"upstream-unreachable\"") != std::string::npos);
}

TEST_CASE("a client that sends nothing is closed after the idle timeout") {
  ScriptedApp app([](int) {});
  Proxy proxy(app.port(), with_idle_timeout(300ms));
  const int client = connect_to(proxy.port());
  char byte;
  // 0: the proxy closed the connection (a guard's expiry would be -1 with EAGAIN).
  CHECK(::recv(client, &byte, 1, 0) == 0);
  ::close(client);
}

TEST_CASE(
    "the idle timeout is per read and write: an answer slower than it in all, but never idle for it, "
    "passes") {
  // Six pieces 150 ms apart against a 400 ms timeout: the answer takes about 750 ms, never idle 400.
  ScriptedApp app([](int fd) {
    read_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n");
    for (int i = 0; i < 6; ++i) {
      std::this_thread::sleep_for(150ms);
      send_all(fd, "x");
    }
  });
  Proxy proxy(app.port(), with_idle_timeout(400ms));
  const std::string answer = exchange(proxy.port(), kGet);
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(answer.find("\r\n\r\nxxxxxx") != std::string::npos);
}

TEST_CASE("a kept-alive connection to the app is used again for the next request") {
  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  ScriptedApp app([&](int fd) {
    ++connections;
    while (!read_head(fd).empty()) {
      ++requests;
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  Proxy proxy(app.port(), [] {
    ProxySettings one_worker;
    one_worker.threads = 1;  // one pool: the second request finds the first one's connection
    return one_worker;
  }());
  const int client = connect_to(proxy.port());
  const std::string keep = "GET /a HTTP/1.1\r\nHost: svc\r\n\r\n";
  std::string answers;
  const auto answered = [&] {
    std::size_t n = 0;
    for (auto at = answers.find("\r\n\r\nok"); at != std::string::npos;
         at = answers.find("\r\n\r\nok", at + 1))
      ++n;
    return n;
  };
  for (std::size_t i = 1; i <= 2; ++i) {
    REQUIRE(send_all(client, keep));
    char buffer[1024];
    while (answered() < i) {
      const auto n = ::recv(client, buffer, sizeof buffer, 0);
      REQUIRE(n > 0);
      answers.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(client);
  CHECK(requests == 2);
  CHECK(connections == 1);
}

TEST_CASE("a chunked request body reaches the app whole, chunked again by the proxy") {
  std::string received;
  ScriptedApp app([&](int fd) {
    received = read_head(fd);
    // Until the last chunk, then answer.
    char c;
    while (received.find("0\r\n\r\n", received.find("\r\n\r\n") + 4) == std::string::npos &&
           ::recv(fd, &c, 1, 0) == 1)
      received.push_back(c);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  Proxy proxy(app.port());
  const int client = connect_to(proxy.port());
  REQUIRE(
      send_all(client,
               "POST /upload HTTP/1.1\r\nHost: svc\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n"));
  std::this_thread::sleep_for(50ms);  // a second piece, most likely read on its own
  REQUIRE(send_all(client, "6\r\n world\r\n0\r\n\r\n"));
  const std::string answer = read_to_end(client);
  ::close(client);
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  const auto head_end = received.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  CHECK(received.find("Transfer-Encoding: chunked\r\n") < head_end);
  // Whatever the pieces, the chunks' data is the body, and the last chunk ends it.
  std::string body;
  for (std::size_t at = head_end + 4;;) {
    const auto line_end = received.find("\r\n", at);
    REQUIRE(line_end != std::string::npos);
    const auto size = std::stoul(received.substr(at, line_end - at), nullptr, 16);
    if (size == 0) break;
    body += received.substr(line_end + 2, size);
    CHECK(received.substr(line_end + 2 + size, 2) == "\r\n");
    at = line_end + 2 + size + 2;
  }
  CHECK(body == "hello world");
}

TEST_CASE("an answer delimited by the app's close goes to an HTTP/1.1 client chunked, and whole") {
  ScriptedApp app([](int fd) {
    read_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil ");
    std::this_thread::sleep_for(50ms);
    send_all(fd, "the end");
  });  // the app closes: the end of the body
  Proxy proxy(app.port());
  const int client = connect_to(proxy.port());
  REQUIRE(send_all(client, "GET /stream HTTP/1.1\r\nHost: svc\r\n\r\n"));
  std::string answer;
  char buffer[1024];
  while (answer.find("0\r\n\r\n") == std::string::npos) {
    const auto n = ::recv(client, buffer, sizeof buffer, 0);
    REQUIRE(n > 0);
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(client);
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(answer.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(answer.find("\r\n\r\n6\r\nuntil \r\n7\r\nthe end\r\n0\r\n\r\n") != std::string::npos);
}

TEST_CASE("an answer to HEAD, and a 204, have a head and no body, whatever their framing fields say") {
  ScriptedApp app([](int fd) {
    const auto head = read_head(fd);
    if (head.rfind("HEAD", 0) == 0) {
      send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    } else {
      send_all(fd, "HTTP/1.1 204 No Content\r\n\r\n");
    }
  });
  Proxy proxy(app.port());
  for (const std::string method : {"HEAD", "DELETE"}) {
    INFO(method);
    const std::string answer =
        exchange(proxy.port(), method + " /jobs/1 HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n");
    const auto head_end = answer.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    CHECK(answer.size() == head_end + 4);
  }
}

TEST_CASE("a client's deadline that passes while the app is still working does not cut the exchange") {
  // The client's read deadline runs from when the proxy began waiting for the request (400 ms);
  // the request comes at 250 ms and the app answers 300 ms later. Past the client's deadline
  // nothing of the client's is under way: the exchange goes on (as with Beast's tcp_stream).
  ScriptedApp app([](int fd) {
    read_head(fd);
    std::this_thread::sleep_for(300ms);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate");
  });
  Proxy proxy(app.port(), with_idle_timeout(400ms));
  const int client = connect_to(proxy.port());
  std::this_thread::sleep_for(250ms);
  REQUIRE(send_all(client, kGet));
  const std::string answer = read_to_end(client);
  ::close(client);
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(answer.find("\r\n\r\nlate") != std::string::npos);
}
