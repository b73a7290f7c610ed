// CurlTransport against a tiny HTTP/1.1 server on an ephemeral loopback port (plain HTTP: the
// TLS options are libcurl's own; integration tests cover them against the local API server).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "kube/curl_transport.h"
#include "test_kube_support.h"

using le::kube::ClusterConfig;
using le::kube::CurlTransport;
using le::kube::HttpResponse;
using le::kube::TransportError;
using le::kube::TransportErrorKind;
using le::kube::testing::TempDir;
using namespace std::chrono_literals;

namespace {

struct Received {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// Serves each connection on its own thread; the handler returns the whole response, or "" to
// never answer (to provoke a client timeout).
class TinyServer {
 public:
  using Handler = std::function<std::string(const Received&)>;

  explicit TinyServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TinyServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& thread : connections_) thread.join();
    ::close(listener_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connection_count() const { return accepted_; }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  // Waits until fd is readable or the server stops; false when stopping.
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void accept_loop() {
    while (wait_readable(listener_)) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      std::size_t header_end;
      while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!wait_readable(fd)) return (void)::close(fd);
        const auto n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return (void)::close(fd);
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      Received request;
      const std::string head = buffer.substr(0, header_end);
      buffer.erase(0, header_end + 4);
      std::size_t line_end = head.find("\r\n");
      const std::string request_line = head.substr(0, line_end);
      const auto space = request_line.find(' ');
      request.method = request_line.substr(0, space);
      request.target = request_line.substr(space + 1, request_line.rfind(' ') - space - 1);
      while (line_end != std::string::npos) {
        const auto start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string line =
            head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      const std::size_t length =
          request.headers.count("content-length") ? std::stoul(request.headers["content-length"]) : 0;
      while (buffer.size() < length) {
        if (!wait_readable(fd)) return (void)::close(fd);
        const auto n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return (void)::close(fd);
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
      {
        std::lock_guard lock(mutex_);
        received_.push_back(request);
      }
      const std::string response = handler_(request);
      if (response.empty()) {
        // Never answer; hold the connection until the client gives up or the server stops.
        while (wait_readable(fd)) {
          if (::read(fd, chunk, sizeof chunk) <= 0) break;
        }
        return (void)::close(fd);
      }
      if (::write(fd, response.data(), response.size()) != static_cast<ssize_t>(response.size())) {
        return (void)::close(fd);
      }
    }
  }

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
  std::mutex mutex_;
  std::vector<Received> received_;
};

std::string http_response(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

ClusterConfig config_for(const TinyServer& server) {
  ClusterConfig config;
  config.server = server.url() + "/";
  config.token = "s3cret-token";
  return config;
}

HttpResponse response_of(const le::kube::TransportResult& result) {
  if (const auto* error = std::get_if<TransportError>(&result)) FAIL("transport error: " << error->message);
  return std::get<HttpResponse>(result);
}

}  // namespace

TEST_CASE("requests carry the identity headers and the token, and reuse one connection") {
  TinyServer server([](const Received& request) {
    if (request.method == "GET") return http_response(200, R"({"kind":"Lease"})");
    return http_response(429, R"({"kind":"Status"})", "Retry-After: 7\r\n");
  });
  CurlTransport transport(config_for(server));
  CHECK(transport.server() == server.url());

  const auto got = response_of(transport.request("GET", "/apis/x?watch=false", "", "", 2s));
  CHECK(got.status == 200);
  CHECK(got.body == R"({"kind":"Lease"})");
  CHECK(got.content_type == "application/json");
  CHECK_FALSE(got.retry_after);

  const auto put = transport.request("PUT", "/apis/y", R"({"a":1})", "application/json", 2s);
  CHECK(response_of(put).status == 429);
  CHECK(response_of(put).retry_after == "7");
  CHECK(response_of(transport.request("POST", "/apis/z", "", "", 2s)).status == 429);
  CHECK(response_of(transport.request("GET", "/apis/x", "", "", 2s)).status == 200);

  const auto received = server.received();
  REQUIRE(received.size() == 4);
  CHECK(received[0].method == "GET");
  CHECK(received[0].target == "/apis/x?watch=false");
  CHECK(received[0].headers.at("user-agent") == "lease-elector/0.1.0");
  CHECK(received[0].headers.at("accept") == "application/json");
  CHECK(received[0].headers.at("authorization") == "Bearer s3cret-token");
  CHECK(received[0].body.empty());
  CHECK(received[1].method == "PUT");
  CHECK(received[1].headers.at("content-type") == "application/json");
  CHECK(received[1].body == R"({"a":1})");
  CHECK(received[2].method == "POST");
  CHECK(received[2].headers.at("content-length") == "0");
  CHECK(received[3].method == "GET");
  CHECK(received[3].body.empty());
  // Keep-alive: renewals do not pay a new connection (and, with TLS, a new handshake).
  CHECK(server.connection_count() == 1);
}

TEST_CASE("a rotated token file is sent from the next request on") {
  TinyServer server([](const Received&) { return http_response(200, "{}"); });
  TempDir dir;
  const auto token_file = dir.write("token", "token-1\n");
  auto config = config_for(server);
  config.token = "";
  config.token_file = token_file.string();
  CurlTransport transport(config);
  response_of(transport.request("GET", "/a", "", "", 2s));
  std::filesystem::rename(dir.write("token.new", "token-2\n"), token_file);
  response_of(transport.request("GET", "/a", "", "", 2s));

  auto independent = transport.make_independent();
  response_of(independent->request("GET", "/b", "", "", 2s));

  const auto received = server.received();
  REQUIRE(received.size() == 3);
  CHECK(received[0].headers.at("authorization") == "Bearer token-1");
  CHECK(received[1].headers.at("authorization") == "Bearer token-2");
  CHECK(received[2].headers.at("authorization") == "Bearer token-2");
  CHECK(server.connection_count() == 2);
}

TEST_CASE("no token means no Authorization header") {
  TinyServer server([](const Received&) { return http_response(403, "{}"); });
  auto config = config_for(server);
  config.token.clear();
  CurlTransport transport(config);
  CHECK(response_of(transport.request("GET", "/a", "", "", 2s)).status == 403);
  CHECK(server.received().at(0).headers.count("authorization") == 0);
}

TEST_CASE("no answer in time is a timeout, nothing listening is a network error, neither names the token") {
  TinyServer server([](const Received&) { return std::string(); });
  CurlTransport transport(config_for(server));
  const auto started = std::chrono::steady_clock::now();
  const auto slow = transport.request("GET", "/slow", "", "", 300ms);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  REQUIRE(std::holds_alternative<TransportError>(slow));
  CHECK(std::get<TransportError>(slow).kind == TransportErrorKind::timeout);
  CHECK(std::get<TransportError>(slow).message.find("GET " + server.url() + "/slow") != std::string::npos);
  CHECK(std::get<TransportError>(slow).message.find("s3cret") == std::string::npos);

  const auto no_time = transport.request("GET", "/slow", "", "", 0ms);
  REQUIRE(std::holds_alternative<TransportError>(no_time));
  CHECK(std::get<TransportError>(no_time).kind == TransportErrorKind::timeout);

  // A port that was just free: connection refused.
  int port = 0;
  {
    TinyServer gone([](const Received&) { return std::string(); });
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  ClusterConfig refused;
  refused.server = "http://127.0.0.1:" + std::to_string(port);
  refused.token = "s3cret-token";
  CurlTransport closed(refused);
  const auto failed = closed.request("GET", "/a", "", "", 2s);
  REQUIRE(std::holds_alternative<TransportError>(failed));
  CHECK(std::get<TransportError>(failed).kind == TransportErrorKind::network);
  CHECK(std::get<TransportError>(failed).message.find("s3cret") == std::string::npos);
}

TEST_CASE("metrics: every answer counted by method and code, no answer as <error>, the Date read") {
  // A server whose clock is 100 s behind ours, as its Date header shows.
  TinyServer server([](const Received& request) {
    const auto behind = std::chrono::system_clock::now() - 100s;
    const std::time_t seconds = std::chrono::system_clock::to_time_t(behind);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char date[40];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return http_response(request.method == "PUT" ? 409 : 200, "{}", "Date: " + std::string(date) + "\r\n");
  });
  auto metrics = std::make_shared<le::kube::ApiMetrics>("h");
  CurlTransport transport(config_for(server));
  transport.set_metrics(metrics);
  CHECK(response_of(transport.request("GET", "/a", "", "", 2s)).status == 200);
  // A second connection counts into the same metrics.
  auto other = transport.make_independent();
  CHECK(response_of(other->request("PUT", "/a", "{}", "application/json", 2s)).status == 409);
  // Out of time before sending: nothing sent, nothing counted.
  CHECK(std::holds_alternative<TransportError>(transport.request("GET", "/a", "", "", 0ms)));
  REQUIRE(metrics->clock_offset_seconds());
  // ±(half a second of Date resolution + half a round trip on loopback).
  CHECK(*metrics->clock_offset_seconds() == doctest::Approx(-100).epsilon(0.01));

  int port = 0;
  {
    TinyServer gone([](const Received&) { return std::string(); });
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  ClusterConfig refused;
  refused.server = "http://127.0.0.1:" + std::to_string(port);
  CurlTransport closed(refused);
  closed.set_metrics(metrics);
  CHECK(std::holds_alternative<TransportError>(closed.request("GET", "/a", "", "", 2s)));

  le::util::MetricsText text;
  metrics->write(text, "l");
  CHECK(text.text().find("rest_client_requests_total{code=\"200\",host=\"h\",method=\"GET\"} 1\n") !=
        std::string::npos);
  CHECK(text.text().find("rest_client_requests_total{code=\"409\",host=\"h\",method=\"PUT\"} 1\n") !=
        std::string::npos);
  CHECK(text.text().find("rest_client_requests_total{code=\"<error>\",host=\"h\",method=\"GET\"} 1\n") !=
        std::string::npos);
  CHECK(text.text().find("rest_client_request_duration_seconds_count{host=\"h\",verb=\"GET\"} 2\n") !=
        std::string::npos);
}
