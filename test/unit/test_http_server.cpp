// The server through real sockets on 127.0.0.1 with an ephemeral port. The client side uses
// Beast too, with every read bounded by a generous deadline so a failing test cannot hang.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/election_routes.h"
#include "http/server.h"

using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr auto deadline = 5s;  // generous: only a broken server takes this long

using HttpResponse = bhttp::response<bhttp::string_body>;

// A synchronous-looking client whose every operation has a deadline.
class Client {
 public:
  explicit Client(const tcp::endpoint& server) : socket_(io_) { socket_.connect(server); }

  void send(const std::string& bytes) {
    beast::error_code ignored;  // the server may close early (oversized header): not an error here
    net::write(socket_, net::buffer(bytes), ignored);
  }
  void get(const std::string& target, const std::string& extra_headers = "") {
    send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "\r\n");
  }

  // nullopt when the server closed (or reset) instead of answering.
  std::optional<HttpResponse> read(bool head_request = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head_request);  // a HEAD answer announces a length but carries no body
    const auto ec = run([&](auto handler) { bhttp::async_read(socket_, buffer_, parser, handler); });
    if (ec) return std::nullopt;
    return parser.release();
  }

  // Reads an endless (chunked) response until its body, as decoded so far, contains `needle`;
  // the body so far, or nullopt on a close, a malformed response or the deadline.
  std::optional<std::string> read_stream_until(const std::string& needle) {
    if (!stream_parser_) {
      stream_parser_.emplace();
      stream_parser_->body_limit(boost::none);
      if (run([&](auto handler) { bhttp::async_read_header(socket_, buffer_, *stream_parser_, handler); })) {
        return std::nullopt;
      }
    }
    while (stream_parser_->get().body().find(needle) == std::string::npos) {
      if (run([&](auto handler) { bhttp::async_read_some(socket_, buffer_, *stream_parser_, handler); })) {
        return std::nullopt;
      }
    }
    return stream_parser_->get().body();
  }
  const bhttp::response<bhttp::string_body>& stream_head() const { return stream_parser_->get(); }

  // True when the server closed the connection within the deadline.
  bool closed_by_server(std::chrono::milliseconds within = deadline) {
    char byte = 0;
    const auto ec =
        run([&](auto handler) { socket_.async_read_some(net::buffer(&byte, 1), handler); }, within);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  template <class Start>
  beast::error_code run(Start start, std::chrono::milliseconds within = deadline) {
    std::optional<beast::error_code> result;
    start([&](beast::error_code ec, std::size_t) { result = ec; });
    io_.restart();
    io_.run_for(within);
    if (!result) {
      socket_.cancel();
      io_.restart();
      io_.run();
      return beast::error::timeout;
    }
    return *result;
  }

  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> stream_parser_;
};

struct FixedClock final : le::election::Clock {
  le::election::BootTime boot_now() const override { return le::election::BootTime{} + 100s; }
  le::election::WallClockTime wall_now() const override {
    return le::election::WallClockTime{} + 1'780'000'000s;
  }
};

// A leading replica and a server on one io_context thread, as main runs it.
class Running {
 public:
  explicit Running(le::http::ServerLimits limits = {},
                   tcp::endpoint at = {net::ip::make_address("127.0.0.1"), 0}) {
    auto s = std::make_shared<le::election::ElectionSnapshot>();
    s->identity = "pod-a";
    s->lease = "default/my-lease";
    le::election::LeaderRecord record;
    record.holder_identity = "pod-a";
    s->observed = record;
    s->record_is_ours = true;
    s->renew_sent_boot = clock_.boot_now();
    s->renew_sent_wall = clock_.wall_now() - 1s;
    s->renew_deadline = 10s;
    s->alive_until = clock_.boot_now() + 30s;
    board_.publish(s);
    feed_ = le::http::LeaderFeed::create(io_.get_executor(), board_, clock_);
    board_.add_observer(le::http::LeaderFeed::board_observer(feed_));
    server_.emplace(io_, at, le::http::make_election_route_table(board_, clock_, feed_), limits);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Running() {
    // stop() must leave the io_context without work, so run() returns and join cannot hang.
    feed_->stop();
    server_->stop();
    thread_.join();
  }
  tcp::endpoint endpoint() const { return server_->local_endpoint(); }
  // Another holder's record: this replica follows from now on.
  void follow(const std::string& holder) {
    auto s = std::make_shared<le::election::ElectionSnapshot>(*board_.current());
    s->observed->holder_identity = holder;
    s->record_is_ours = false;
    s->status = "following " + holder;
    board_.publish(s);
  }
  le::http::Server& server() { return *server_; }

 private:
  le::election::SnapshotBoard board_;
  FixedClock clock_;
  net::io_context io_;
  std::shared_ptr<le::http::LeaderFeed> feed_;
  std::optional<le::http::Server> server_;
  std::thread thread_;
};

template <class Predicate>
bool eventually(Predicate predicate) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (predicate()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return predicate();
}

void check_serves(const tcp::endpoint& endpoint) {
  Client client(endpoint);
  client.get("/");
  const auto response = client.read();
  REQUIRE(response);
  CHECK(response->result_int() == 200);
  CHECK(response->body() == R"({"name":"pod-a"})");
}

}  // namespace

TEST_CASE("GET /leader over a socket answers JSON") {
  Running running;
  Client client(running.endpoint());
  client.get("/leader");
  const auto response = client.read();
  REQUIRE(response);
  CHECK(response->result_int() == 200);
  CHECK((*response)[bhttp::field::content_type] == "application/json");
  CHECK((*response)[bhttp::field::cache_control] == "no-store");
  CHECK((*response)[bhttp::field::server] == "lease-elector");
  const auto body = json::parse(response->body());
  CHECK(body["isLeader"] == true);
  CHECK(body["validForMs"] == 9000);
}

TEST_CASE("keep-alive: several requests on one connection, pipelined ones too") {
  Running running;
  Client client(running.endpoint());
  client.get("/leader");
  auto first = client.read();
  REQUIRE(first);
  CHECK(first->keep_alive());
  client.get("/readyz");
  auto second = client.read();
  REQUIRE(second);
  CHECK(second->result_int() == 200);

  client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto third = client.read();
  auto fourth = client.read();
  REQUIRE(third);
  REQUIRE(fourth);
  CHECK(third->result_int() == 200);
  CHECK(fourth->result_int() == 404);
  CHECK(running.server().connection_count() == 1);
}

TEST_CASE("Connection: close is honoured") {
  Running running;
  Client client(running.endpoint());
  client.get("/", "Connection: close\r\n");
  const auto response = client.read();
  REQUIRE(response);
  CHECK_FALSE(response->keep_alive());
  CHECK(client.closed_by_server());
}

TEST_CASE("HTTP/1.0 is answered in kind and closed unless asked to stay") {
  Running running;
  {
    Client client(running.endpoint());
    client.send("GET /readyz HTTP/1.0\r\n\r\n");
    const auto response = client.read();
    REQUIRE(response);
    CHECK(response->version() == 10);
    CHECK(response->result_int() == 200);
    CHECK(client.closed_by_server());
  }
  {
    Client client(running.endpoint());
    client.send("GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(client.read());
    client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(client.read());
  }
}

TEST_CASE("HEAD announces the GET body's length and sends none") {
  Running running;
  Client client(running.endpoint());
  client.get("/leader");
  const auto get = client.read();
  REQUIRE(get);
  client.send("HEAD /leader HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto head = client.read(/*head_request=*/true);
  REQUIRE(head);
  CHECK(head->result_int() == 200);
  CHECK((*head)[bhttp::field::content_length] == std::to_string(get->body().size()));
  CHECK(head->body().empty());
  // No stray body bytes: the next response on the connection parses.
  client.get("/");
  const auto next = client.read();
  REQUIRE(next);
  CHECK(next->body() == R"({"name":"pod-a"})");
}

TEST_CASE("405 over a socket carries Allow") {
  Running running;
  Client client(running.endpoint());
  client.send("POST /leader HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  const auto response = client.read();
  REQUIRE(response);
  CHECK(response->result_int() == 405);
  CHECK((*response)[bhttp::field::allow] == "GET, HEAD");
}

TEST_CASE("an oversized header gets 431 (or a close) and the server keeps serving") {
  Running running;
  {
    Client client(running.endpoint());
    client.get("/leader", "X-Big: " + std::string(16 * 1024, 'a') + "\r\n");
    const auto response = client.read();
    if (response) {
      CHECK(response->result_int() == 431);
      CHECK_FALSE(response->keep_alive());
    }
  }
  check_serves(running.endpoint());
}

TEST_CASE("an oversized body gets 413 (or a close) and the server keeps serving") {
  le::http::ServerLimits limits;
  limits.body_limit = 16;
  Running running(limits);
  {
    Client client(running.endpoint());
    client.send("POST /leader HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'));
    const auto response = client.read();
    if (response) CHECK(response->result_int() == 413);
  }
  check_serves(running.endpoint());
}

TEST_CASE("malformed requests get 400 (or a close) and the server keeps serving") {
  Running running;
  for (const std::string& garbage : std::vector<std::string>{
           "GARBAGE\r\n\r\n", "GET /leader HTTP/9.9\r\n\r\n", "GET\x01 / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nBad Header\r\n\r\n", std::string("\0\0\0\0\r\n\r\n", 8)}) {
    CAPTURE(garbage);
    {
      Client client(running.endpoint());
      client.send(garbage);
      const auto response = client.read();
      if (response) CHECK(response->result_int() == 400);
      CHECK(client.closed_by_server());
    }
    check_serves(running.endpoint());
  }
}

TEST_CASE("a client that connects and says nothing is closed after the read timeout") {
  le::http::ServerLimits limits;
  limits.read_timeout = 200ms;
  Running running(limits);
  Client silent(running.endpoint());
  CHECK(silent.closed_by_server());
  CHECK(eventually([&] { return running.server().connection_count() == 0; }));
  check_serves(running.endpoint());
}

TEST_CASE("a slow client (one byte a second) is closed at the read deadline, not kept alive by each byte") {
  le::http::ServerLimits limits;
  limits.read_timeout = 1500ms;
  Running running(limits);
  Client slow(running.endpoint());
  const std::string request = "GET /leader HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n";
  bool closed = false;
  std::size_t sent = 0;
  while (sent < request.size() && !closed) {
    slow.send(request.substr(sent++, 1));
    closed = slow.closed_by_server(1s);  // a second's wait for the close between bytes: the trickle
  }
  CHECK(closed);
  CHECK(sent < request.size());  // cut off mid-request, not answered at the end
  check_serves(running.endpoint());
}

TEST_CASE("a kept-alive connection is closed after the idle timeout") {
  le::http::ServerLimits limits;
  limits.idle_timeout = 200ms;
  Running running(limits);
  Client client(running.endpoint());
  client.get("/");
  REQUIRE(client.read());
  CHECK(client.closed_by_server());
}

TEST_CASE("connections beyond the cap are closed at once, the server recovers below it") {
  le::http::ServerLimits limits;
  limits.max_connections = 2;
  Running running(limits);
  auto first = std::make_optional<Client>(running.endpoint());
  Client second(running.endpoint());
  REQUIRE(eventually([&] { return running.server().connection_count() == 2; }));

  Client third(running.endpoint());
  CHECK(third.closed_by_server());

  // The connections within the cap are still served.
  second.get("/");
  CHECK(second.read());

  first.reset();
  REQUIRE(eventually([&] { return running.server().connection_count() < 2; }));
  check_serves(running.endpoint());
}

TEST_CASE("stop() closes open connections and leaves the io_context without work") {
  auto running = std::make_optional<Running>();
  Client idle(running->endpoint());
  REQUIRE(eventually([&] { return running->server().connection_count() == 1; }));
  running.reset();  // joins the io_context thread: hangs here if stop() left work behind
  CHECK(idle.closed_by_server());
}

TEST_CASE("binding an address in use fails with the address in the message") {
  Running running;
  net::io_context io;
  try {
    le::http::Server second(io, running.endpoint(), std::make_shared<le::http::RouteTable>());
    FAIL("bind should have failed");
  } catch (const std::system_error& e) {
    const std::string expected =
        "cannot listen on 127.0.0.1:" + std::to_string(running.endpoint().port()) + ":";
    CHECK(std::string(e.what()).starts_with(expected));
    CHECK(e.code() == std::errc::address_in_use);
  }
}

TEST_CASE("IPv6 loopback works where the host has it") {
  std::optional<Running> running;
  try {
    running.emplace(le::http::ServerLimits{}, tcp::endpoint{net::ip::make_address("::1"), 0});
  } catch (const std::system_error& e) {
    MESSAGE("no IPv6 loopback here, skipped: " << e.what());
    return;
  }
  CHECK(running->endpoint().address().is_v6());
  check_serves(running->endpoint());
}

TEST_CASE("a long poll over a socket is answered when the answer changes, and the connection is reused") {
  Running running;
  Client client(running.endpoint());
  client.get("/leader");
  const auto first = client.read();
  REQUIRE(first);
  const auto index = json::parse(first->body())["index"].get<std::uint64_t>();
  CHECK((*first)["X-Lease-Elector-Index"] == std::to_string(index));
  client.get("/leader?index=" + std::to_string(index) + "&wait=60s");
  running.follow("pod-b");
  const auto changed = client.read();
  REQUIRE(changed);
  CHECK(changed->result_int() == 200);
  const auto body = json::parse(changed->body());
  CHECK(body["index"] == index + 1);
  CHECK(body["isLeader"] == false);
  CHECK(body["name"] == "pod-b");
  CHECK(changed->keep_alive());
  client.get("/readyz");
  const auto after = client.read();
  REQUIRE(after);
  CHECK(after->result_int() == 503);
}

TEST_CASE(
    "an event stream over a socket: chunked text/event-stream, the answer at once, one event per change") {
  Running running;
  Client client(running.endpoint());
  client.get("/leader/stream");
  auto body = client.read_stream_until("\n\n");
  REQUIRE(body);
  CHECK(client.stream_head().result_int() == 200);
  CHECK(client.stream_head()[bhttp::field::content_type] == "text/event-stream");
  CHECK(client.stream_head().chunked());
  CHECK(client.stream_head()[bhttp::field::cache_control] == "no-store");
  CHECK(body->starts_with("retry: 1000\nid: 1\ndata: {"));
  running.follow("pod-b");
  body = client.read_stream_until("id: 2\n");
  REQUIRE(body);
  const auto event = body->substr(body->find("id: 2\ndata: ") + 12);
  CHECK(json::parse(event.substr(0, event.find('\n')))["name"] == "pod-b");
}

TEST_CASE("deferred_timeout closes a connection held by a long poll") {
  le::http::ServerLimits limits;
  limits.deferred_timeout = 100ms;
  Running running(limits);
  Client client(running.endpoint());
  client.get("/leader");
  const auto first = client.read();
  REQUIRE(first);
  running.follow("pod-b");  // a follower's long poll is held for its whole wait
  client.get("/leader");
  const auto index = json::parse(client.read()->body())["index"].get<std::uint64_t>();
  client.get("/leader?index=" + std::to_string(index) + "&wait=60s");
  CHECK(client.closed_by_server());
}
