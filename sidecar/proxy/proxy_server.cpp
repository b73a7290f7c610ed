#include "proxy/proxy_server.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace le::proxy {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono;

namespace {

// A worker's connections live on its own io_context, run by its one thread: their sockets and timers
// carry that io_context's executor itself. Beast's tcp_stream (any_io_executor, and a timer started
// and cancelled for each read and write) cost about a tenth of a request's time (bench/README.md).
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using DeadlineClock = steady_clock;
using DeadlineTimer = net::basic_waitable_timer<DeadlineClock, net::wait_traits<DeadlineClock>, Executor>;
constexpr DeadlineClock::time_point kNoDeadline = DeadlineClock::time_point::max();
// How often a deadline that passed cancels its side again (Session::on_timer).
constexpr milliseconds kCancelAgain{100};

// One buffer per exchange in flight, in each direction's turn: a body is never held whole, and the
// sender waits while the receiver is slow (back-pressure), as the kernel's socket buffers allow.
constexpr std::size_t kRelayBufferSize = 64 * 1024;
// Idle connections kept per upstream and worker: enough for every connection of a busy client pool
// to find one again, few enough that an app with a small connection limit is not starved.
constexpr std::size_t kMaxIdleUpstreams = 256;
// After our own error answer the client may still be sending its body; closing with unread data
// makes the kernel send RST, which can destroy the answer before the client reads it.
constexpr seconds kLingerTimeout{1};
// A tunnel's reads, one at a time per worker (WebSocket frames, TCP segments).
constexpr std::size_t kTunnelReadSize = 16 * 1024;
// TCP mode: what a follower's proxy sends first to the leader's hop listener, then the hop value.
constexpr std::string_view kHopLinePrefix = "LEASE-ELECTOR-HOP ";
constexpr std::size_t kMaxHopLine = 1024;
// A body this small comes in one or two reads anyway.
constexpr std::uint64_t kSmallBody = 4096;
constexpr std::uint64_t kNoBodyLimit = std::numeric_limits<std::uint64_t>::max();

std::string to_string(const tcp::endpoint& endpoint) {
  std::ostringstream out;
  out << endpoint;
  return out.str();
}

// A close that the peer sees as a reset (RST), not as the end of a message: a client or an app
// must not mistake a cut-off exchange for a complete one.
void reset_socket(Socket& socket) {
  beast::error_code ignored;
  if (!socket.is_open()) return;
  socket.set_option(net::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

// Whether an idle pooled connection was closed by the app meanwhile (it read EOF or has bytes it
// was never asked for): reusing it would fail the request sent on it.
bool closed_by_peer(Socket& socket) {
  char byte = 0;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

// What every worker shares: read-only settings, the gate, the counters.
struct ProxyServer::Shared {
  ProxySettings settings;
  std::shared_ptr<TermGate> gate;
  std::shared_ptr<ProxyMetrics> metrics;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> at_cap_reported{false};
  std::string upstream_text;
};

struct ProxyServer::Worker {
  Worker(ProxyServer::Shared& shared, tcp::acceptor::protocol_type protocol)
      : shared(shared),
        gate(shared.gate->add_shard()),
        acceptor(io.get_executor()),
        hop_acceptor(io.get_executor()) {
    acceptor.open(protocol);
  }
  void accept(Acceptor& from, bool hop);

  ProxyServer::Shared& shared;
  // This worker's view of the term, and its open exchanges.
  TermGate::Shard& gate;
  net::io_context io{1};
  Acceptor acceptor;
  // TCP mode: where followers' proxies forward to, each connection announced by its hop line.
  Acceptor hop_acceptor;
  std::thread thread;
  // Where a tunnel reads what arrived, before it is copied to the bytes on their way.
  std::array<char, kTunnelReadSize> scratch{};
  // Idle keep-alive connections by destination (the app, a leader's proxy), most recent last.
  std::map<tcp::endpoint, std::vector<std::unique_ptr<Socket>>> idle;
};

namespace {

// A message the proxy passes on, its head serialized once and its body framed here, piece by piece
// as it is read: Beast's serializer walks a buffers_cat_view of every field for each write, which
// cost more per request than parsing the message did.
class Outgoing {
 public:
  using Buffers = std::array<net::const_buffer, 5>;
  // A new message; `chunked`: its body goes as chunks (the head says Transfer-Encoding: chunked,
  // and a body follows it).
  template <class Header>
  void start(const Header& head, bool chunked) {
    serialize_head(head, head_);
    head_sent_ = false;
    chunked_ = chunked;
    done_ = false;
  }
  // The next write: the head if it has not gone yet, then `size` bytes of the body (a chunk, when
  // chunked), then the end of a chunked body when `last`.
  Buffers next(const char* data, std::size_t size, bool last) {
    static constexpr std::string_view kCrlf = "\r\n";
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    Buffers buffers{};
    std::size_t n = 0;
    if (!head_sent_) {
      buffers[n++] = net::buffer(head_);
      head_sent_ = true;
    }
    if (size > 0) {
      if (chunked_) buffers[n++] = net::buffer(size_line_, write_chunk_size(size, size_line_));
      buffers[n++] = net::buffer(data, size);
      if (chunked_) buffers[n++] = net::buffer(kCrlf.data(), kCrlf.size());
    }
    if (last) {
      if (chunked_) buffers[n++] = net::buffer(kLastChunk.data(), kLastChunk.size());
      done_ = true;
    }
    return buffers;
  }
  // The whole message has gone (its last piece was written).
  bool done() const { return done_; }
  // A tunnel keeps no head.
  void release() { head_ = std::string{}; }

 private:
  std::string head_;
  bool head_sent_ = false;
  bool chunked_ = false;
  bool done_ = false;
  char size_line_[18] = {};
};

// One client connection: read a request, pass it on (or answer it), repeat while both sides keep
// the connection alive. Owned by its handlers in flight (shared_from_this), as in Beast's examples;
// it lives on its worker's single thread, so it needs no strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ProxyServer::Worker& worker, Socket&& socket, net::ip::address peer)
      : worker_(worker),
        shared_(worker.shared),
        client_(std::move(socket)),
        timer_(worker.io.get_executor()),
        peer_(std::move(peer)),
        client_facts_(peer_, shared_.settings.trusted.contains(peer_)) {}
  ~Session() {
    leave_gate();
    shared_.connections.fetch_sub(1);
  }
  void run() {
    watch_term();
    read_header();
  }
  void run_tcp();
  void run_tcp_hop();
  // A term's end resets this session's exchange (on_term_ended), on the worker's thread.
  void watch_term() {
    gate_entry_.reset_with([weak = weak_from_this(), &io = worker_.io](std::uint64_t exchange) {
      net::post(io, [weak, exchange] {
        if (const auto self = weak.lock()) self->on_term_ended(exchange);
      });
    });
  }

 private:
  enum class Route { local, forwarded };

  void read_header();
  void on_header(beast::error_code ec, std::size_t);
  void route_follower(bhttp::request<bhttp::buffer_body>& request);
  void pass_on(const tcp::endpoint& to);
  void connect();
  void on_connect(std::uint64_t exchange, beast::error_code ec);
  void relay_request();
  void on_request_read(std::uint64_t exchange, beast::error_code ec, std::size_t);
  void write_request();
  void on_request_written(std::uint64_t exchange, beast::error_code ec, std::size_t);
  void read_response_header();
  void on_response_header(std::uint64_t exchange, beast::error_code ec, std::size_t);
  void relay_response();
  void on_response_read(std::uint64_t exchange, beast::error_code ec, std::size_t);
  void write_response();
  void on_response_written(std::uint64_t exchange, beast::error_code ec, std::size_t);
  void finish_exchange();
  // After a 101: the app's answer goes to the client, then bytes flow both ways as they come.
  void start_tunnel();
  void join_connections();
  void tunnel_read(bool from_client);
  void tunnel_write(bool from_client);
  void start_local_tcp(std::shared_ptr<const AdmittedTerm> admitted);
  void connect_tcp(const tcp::endpoint& to, std::string first_bytes);
  // ec from the direction from_client names (none: the tunnel as a whole).
  void end_tunnel(beast::error_code ec, std::optional<bool> from_client = std::nullopt);
  void on_term_ended(std::uint64_t exchange);
  // Our own answer, as JSON with a reason; after it the connection is kept only if the request
  // was read whole.
  void reply(unsigned status, std::string_view reason, std::string message,
             const std::vector<std::pair<std::string, std::string>>& headers = {});
  void retry_on_fresh_connection();
  void fail_upstream(beast::error_code ec, std::string_view while_doing);
  void close_client();
  void linger();
  void leave_gate();
  template <class Duration>
  void client_expires_after(Duration timeout) {
    client_deadline_ = DeadlineClock::now() + timeout;
    arm_timer(client_deadline_);
  }
  template <class Duration>
  void upstream_expires_after(Duration timeout) {
    upstream_deadline_ = DeadlineClock::now() + timeout;
    upstream_timed_out_ = false;
    arm_timer(upstream_deadline_);
  }
  void arm_timer(DeadlineClock::time_point at);
  void on_timer();
  // An upstream operation cancelled by its deadline failed by timing out.
  beast::error_code upstream_error(beast::error_code ec) const {
    return upstream_timed_out_ && ec == net::error::operation_aborted ? beast::error::timeout : ec;
  }
  bool upstream_may_continue() const {
    return route_ != Route::local || (term_ && worker_.gate.may_continue(term_->number));
  }
  std::string upstream_name() const {
    return route_ == Route::local ? "the app at " + shared_.upstream_text
                                  : "the leader's proxy at " + to_string(upstream_endpoint_);
  }
  // A body of known small size gets a small buffer (kept between requests); any other the relay's
  // (released after the exchange): a kept-alive connection waits holding at most kSmallBody.
  char* relay_buffer(boost::optional<std::uint64_t> content_length) {
    const std::size_t size = content_length && *content_length <= kSmallBody ? kSmallBody : kRelayBufferSize;
    if (!relay_ || relay_size_ < size) {
      relay_ = std::make_unique<char[]>(size);
      relay_size_ = size;
    }
    return relay_.get();
  }

  ProxyServer::Worker& worker_;
  ProxyServer::Shared& shared_;
  Socket client_;
  // Each read and write of either side has a deadline (--proxy-idle-timeout, or the connect
  // timeout); past it, the side's operations are cancelled, and an upstream's fail as a timeout.
  // The deadlines are stored times and one timer serves both, moved only when a deadline comes
  // earlier than it is set for (as http/server.cpp does): a request touches the reactor's timer
  // queue about once per timeout, not for every operation.
  DeadlineTimer timer_;
  DeadlineClock::time_point client_deadline_ = kNoDeadline;
  DeadlineClock::time_point upstream_deadline_ = kNoDeadline;
  DeadlineClock::time_point timer_at_ = kNoDeadline;  // kNoDeadline: no wait pending
  bool upstream_timed_out_ = false;
  net::ip::address peer_;
  const ClientFacts client_facts_;
  beast::flat_buffer client_buffer_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> request_;
  Outgoing request_out_;

  std::unique_ptr<Socket> upstream_;
  tcp::endpoint upstream_endpoint_;
  bool upstream_reused_ = false;
  bool upstream_keep_alive_ = false;
  beast::flat_buffer upstream_buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> response_;
  Outgoing response_out_;
  std::optional<bhttp::response<bhttp::string_body>> own_answer_;
  std::unique_ptr<char[]> relay_;
  std::size_t relay_size_ = 0;

  // The exchange in progress: its number (handlers of an exchange that was reset find it changed),
  // where it goes, the term it was let through in.
  std::uint64_t exchange_ = 0;
  Route route_ = Route::local;
  std::shared_ptr<const AdmittedTerm> term_;  // Route::local
  GateEntry gate_entry_;
  bool entered_ = false;
  unsigned client_version_ = 11;
  bool client_keep_alive_ = true;
  bool head_request_ = false;
  bool request_had_body_ = false;
  bool idempotent_ = false;
  bool response_started_ = false;
  bool upgrade_ = false;
  // TCP mode's hop listener: the line a follower's proxy sends first, and what came with it.
  std::string hop_line_;
  // A tunnel's bytes on their way, client to app and app to client; empty while idle.
  std::vector<char> tunnel_pending_[2];
  // Which directions of a tunnel ended in order (their sender shut its side down).
  bool tunnel_done_[2] = {false, false};
  steady_clock::time_point started_;
  std::size_t lingered_bytes_ = 0;
  std::array<char, 4096> discard_{};
};

void Session::read_header() {
  request_.emplace();
  request_->header_limit(shared_.settings.header_limit);
  // No limit is the largest one: Boost 1.74's parser takes boost::none for a limit of zero where it
  // compares a Content-Length with it.
  request_->body_limit(shared_.settings.max_body > 0 ? shared_.settings.max_body : kNoBodyLimit);
  client_expires_after(shared_.settings.idle_timeout);
  bhttp::async_read_header(client_, client_buffer_, *request_,
                           beast::bind_front_handler(&Session::on_header, shared_from_this()));
}

void Session::on_header(beast::error_code ec, std::size_t) {
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::connection_reset) {
    close_client();
    return;
  }
  ++exchange_;
  started_ = steady_clock::now();
  response_started_ = false;
  // Not the previous request's: an error answer is HTTP/1.1, with its body.
  client_version_ = 11;
  head_request_ = false;
  if (ec == bhttp::error::header_limit) {
    reply(431, "header-too-large",
          "the request's header is larger than " + std::to_string(shared_.settings.header_limit) + " bytes");
    return;
  }
  if (ec == bhttp::error::body_limit) {
    reply(413, "body-too-large",
          "the request's body is larger than --proxy-max-body (" + std::to_string(shared_.settings.max_body) +
              " bytes)");
    return;
  }
  if (ec) {
    reply(400, "bad-request", "the request is not valid HTTP/1.1: " + ec.message());
    return;
  }
  auto& request = request_->get();
  client_version_ = request.version();
  client_keep_alive_ = request.keep_alive();
  head_request_ = request.method() == bhttp::verb::head;
  request_had_body_ = !request_->is_done();
  // RFC 9110 9.2.2; a request that may not be repeated is never sent twice (nginx's rule too).
  idempotent_ = request.method() != bhttp::verb::post && request.method() != bhttp::verb::patch &&
                request.method() != bhttp::verb::lock && request.method() != bhttp::verb::unknown;
  // An upgrade (WebSocket) asks for the connection itself: if the app agrees (101), both sides are
  // joined byte for byte until either closes or the term ends.
  upgrade_ = request.find(bhttp::field::upgrade) != request.end() &&
             beast::http::token_list(request[bhttp::field::connection]).exists("upgrade");

  const auto hop = request.find(kHopHeader);
  const auto admitted = worker_.gate.admit();
  if (hop != request.end()) {
    // From another replica's proxy: only for exactly the term it names, and never on again.
    const auto named = parse_hop(to_std(hop->value()));
    if (!named || !admitted || named->holder != admitted->holder ||
        named->acquire_time != admitted->acquire_time) {
      shared_.metrics->requests[ProxyMetrics::rejected].add();
      reply(503, "not-leader-of-that-term",
            "this replica does not lead the term the forwarding proxy named (" +
                std::string(to_std(hop->value())) + "); the leader changed meanwhile",
            {{"Retry-After", std::to_string(shared_.settings.retry_after.count())}});
      return;
    }
  }
  if (!admitted) {
    route_follower(request);
    return;
  }
  route_ = Route::local;
  term_ = admitted;
  worker_.gate.enter(gate_entry_, term_->number, exchange_);
  entered_ = true;
  request.erase(kHopHeader);
  remove_hop_by_hop(request, upgrade_);
  set_forwarding_headers(request, client_facts_);
  // The app learns the term's fencing token with each request (README "Fencing token").
  request.set(kFencingTokenHeader, term_->fencing_token);
  pass_on(shared_.settings.upstream);
}

void Session::route_follower(bhttp::request<bhttp::buffer_body>& request) {
  const auto& settings = shared_.settings;
  const std::vector<std::pair<std::string, std::string>> retry = {
      {"Retry-After", std::to_string(settings.retry_after.count())}};
  if (settings.follower == ProxySettings::Follower::reject || !settings.leader) {
    shared_.metrics->requests[ProxyMetrics::rejected].add();
    const auto board = settings.leader ? settings.leader() : LeaderLookup{};
    reply(503, "not-leader",
          "this replica does not lead" +
              (board.holder.empty() ? std::string{} : "; the leader is " + board.holder),
          retry);
    return;
  }
  const LeaderLookup leader = settings.leader();
  if (!leader.proxy) {
    shared_.metrics->requests[ProxyMetrics::rejected].add();
    reply(503,
          leader.holder.empty() ? "no-leader"
          : leader.own          ? "not-leader"
                                : "no-leader-address",
          leader.why_none, retry);
    return;
  }
  if (settings.follower == ProxySettings::Follower::redirect) {
    shared_.metrics->requests[ProxyMetrics::rejected].add();
    const auto& address = leader.proxy->address();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    reply(307, "redirect-to-leader", "the leader is " + leader.holder,
          {{"Location",
            "http://" + host + ":" + std::to_string(leader.proxy->port()) + std::string(request.target())}});
    return;
  }
  route_ = Route::forwarded;
  term_.reset();
  remove_hop_by_hop(request, upgrade_);
  set_forwarding_headers(request, client_facts_);
  request.erase(kFencingTokenHeader);
  request.set(kHopHeader, hop_value(leader.holder, leader.acquire_time));
  pass_on(*leader.proxy);
}

void Session::pass_on(const tcp::endpoint& to) {
  auto& request = request_->get();
  upstream_endpoint_ = to;
  // The client was promised nothing about the body yet: we read it now, so tell it to send it
  // (the app's own 100 Continue, if it sends one, is dropped).
  const bool expects_continue = [&] {
    const auto expect = request.find(bhttp::field::expect);
    return expect != request.end() && beast::iequals(expect->value(), "100-continue");
  }();
  request.erase(bhttp::field::expect);
  request.version(11);
  if (upgrade_) {
    request.set(bhttp::field::connection, "Upgrade");
  } else {
    request.keep_alive(true);
  }
  if (expects_continue && request_had_body_ && client_version_ >= 11) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    client_expires_after(shared_.settings.idle_timeout);
    net::async_write(client_, net::buffer(kContinue),
                     [self = shared_from_this(), exchange = exchange_](beast::error_code ec, std::size_t) {
                       if (exchange != self->exchange_) return;
                       if (ec) {
                         self->close_client();
                         return;
                       }
                       self->connect();
                     });
    return;
  }
  connect();
}

void Session::connect() {
  // Not even a connection to the app once the term has ended (a shutdown's close_all() may have
  // come between the admission and now): an app that speaks first would take it as a client.
  if (!upstream_may_continue()) {
    on_term_ended(exchange_);
    return;
  }
  upstream_reused_ = false;
  upstream_buffer_.clear();
  auto& idle = worker_.idle[upstream_endpoint_];
  while (!idle.empty()) {
    auto candidate = std::move(idle.back());
    idle.pop_back();
    if (closed_by_peer(*candidate)) continue;
    upstream_ = std::move(candidate);
    upstream_reused_ = true;
    request_out_.start(request_->get().base(), request_->get().chunked());
    relay_request();
    return;
  }
  upstream_ = std::make_unique<Socket>(worker_.io.get_executor());
  upstream_expires_after(shared_.settings.connect_timeout);
  upstream_->async_connect(upstream_endpoint_,
                           beast::bind_front_handler(&Session::on_connect, shared_from_this(), exchange_));
}

void Session::on_connect(std::uint64_t exchange, beast::error_code ec) {
  if (exchange != exchange_) return;
  ec = upstream_error(ec);
  if (ec) {
    shared_.metrics->requests[ProxyMetrics::failed].add();
    spdlog::debug("proxy: cannot connect to {}: {}", upstream_name(), ec.message());
    if (route_ == Route::forwarded) {
      // A leader that just died or moved: the Lease will name the next one soon.
      reply(503, "leader-unreachable", "cannot connect to " + upstream_name() + ": " + ec.message(),
            {{"Retry-After", std::to_string(shared_.settings.retry_after.count())}});
      return;
    }
    reply(ec == beast::error::timeout ? 504 : 502, "upstream-unreachable",
          "cannot connect to " + upstream_name() + ": " + ec.message());
    return;
  }
  beast::error_code ignored;
  upstream_->set_option(tcp::no_delay(true), ignored);
  request_out_.start(request_->get().base(), request_->get().chunked());
  relay_request();
}

// The request's head and body go on in turns of one buffer, as Beast's relay example does it:
// read what the client sent, write it on, read again.
// Beast reads as much as the buffer's free capacity, at least 512 bytes: a large body gets a buffer
// of the relay's size for its reads (released after the exchange), a small one keeps the small one.
void reserve_for_body(beast::flat_buffer& buffer, boost::optional<std::uint64_t> content_length) {
  if (buffer.capacity() >= kRelayBufferSize) return;
  if (!content_length || *content_length > kSmallBody) buffer.reserve(kRelayBufferSize);
}

void Session::relay_request() {
  auto& body = request_->get().body();
  if (!request_->is_done()) {
    reserve_for_body(client_buffer_, request_->content_length());
    body.data = relay_buffer(request_->content_length());
    body.size = relay_size_;
    client_expires_after(shared_.settings.idle_timeout);
    // read_some, not read: a trickling body goes on as it comes, not once a buffer is full.
    bhttp::async_read_some(
        client_, client_buffer_, *request_,
        beast::bind_front_handler(&Session::on_request_read, shared_from_this(), exchange_));
    return;
  }
  body.data = nullptr;
  body.size = 0;
  body.more = false;
  write_request();
}

void Session::on_request_read(std::uint64_t exchange, beast::error_code ec, std::size_t) {
  if (exchange != exchange_) return;
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec == bhttp::error::body_limit) {
    if (upstream_) reset_socket(*upstream_);
    shared_.metrics->requests[ProxyMetrics::rejected].add();
    reply(413, "body-too-large",
          "the request's body is larger than --proxy-max-body (" + std::to_string(shared_.settings.max_body) +
              " bytes)");
    return;
  }
  if (ec) {
    // The client went away or stalled mid-body: the app must not take a cut-off body as whole.
    spdlog::debug("proxy: {}: reading the request body: {}", peer_.to_string(), ec.message());
    if (upstream_) reset_socket(*upstream_);
    shared_.metrics->requests[ProxyMetrics::failed].add();
    close_client();
    return;
  }
  auto& body = request_->get().body();
  body.size = relay_size_ - body.size;
  body.data = relay_.get();
  body.more = !request_->is_done();
  // Only framing was read (a chunk's size line): nothing to send yet.
  if (body.size == 0 && body.more) {
    relay_request();
    return;
  }
  write_request();
}

void Session::write_request() {
  if (!upstream_may_continue()) {
    on_term_ended(exchange_);
    return;
  }
  upstream_expires_after(shared_.settings.idle_timeout);
  const auto& body = request_->get().body();
  net::async_write(*upstream_, request_out_.next(static_cast<const char*>(body.data), body.size, !body.more),
                   beast::bind_front_handler(&Session::on_request_written, shared_from_this(), exchange_));
}

void Session::on_request_written(std::uint64_t exchange, beast::error_code ec, std::size_t) {
  if (exchange != exchange_) return;
  ec = upstream_error(ec);
  if (ec) {
    if (upstream_reused_ && !request_had_body_ && idempotent_) {
      retry_on_fresh_connection();
      return;
    }
    fail_upstream(ec, "sending the request");
    return;
  }
  if (!request_out_.done()) {
    relay_request();
    return;
  }
  read_response_header();
}

void Session::retry_on_fresh_connection() {
  // An idle connection the app closed just as we took it: nothing of the request can have reached
  // the app (it had no body, and no byte of an answer came), so it is sent once more, on a new one.
  spdlog::debug("proxy: a kept-alive connection to {} was closed; sending again on a new one",
                upstream_name());
  if (upstream_) reset_socket(*upstream_);
  upstream_.reset();
  upstream_reused_ = false;
  worker_.idle[upstream_endpoint_].clear();
  upstream_ = std::make_unique<Socket>(worker_.io.get_executor());
  upstream_expires_after(shared_.settings.connect_timeout);
  upstream_->async_connect(upstream_endpoint_,
                           beast::bind_front_handler(&Session::on_connect, shared_from_this(), exchange_));
}

void Session::read_response_header() {
  response_.emplace();
  response_->header_limit(shared_.settings.header_limit);
  response_->body_limit(kNoBodyLimit);
  if (head_request_) response_->skip(true);
  upstream_expires_after(shared_.settings.idle_timeout);
  bhttp::async_read_header(
      *upstream_, upstream_buffer_, *response_,
      beast::bind_front_handler(&Session::on_response_header, shared_from_this(), exchange_));
}

void Session::on_response_header(std::uint64_t exchange, beast::error_code ec, std::size_t) {
  if (exchange != exchange_) return;
  ec = upstream_error(ec);
  if (ec) {
    if (upstream_reused_ && !request_had_body_ && idempotent_ && upstream_buffer_.size() == 0 &&
        (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset)) {
      retry_on_fresh_connection();
      return;
    }
    fail_upstream(ec, "reading the response");
    return;
  }
  if (!upstream_may_continue()) {
    on_term_ended(exchange_);
    return;
  }
  auto& response = response_->get();
  const unsigned status = response.result_int();
  if (status / 100 == 1 && !(status == 101 && upgrade_)) {
    // An interim answer (100 Continue, 103 Early Hints): the client already had ours; the final one
    // follows.
    read_response_header();
    return;
  }
  if (status == 101 && upgrade_) {
    start_tunnel();
    return;
  }
  upstream_keep_alive_ = response.keep_alive() && !upgrade_;
  remove_hop_by_hop(response);
  const bool no_body = head_request_ || status == 204 || status == 304;
  if (!no_body && !response.has_content_length() && !response.chunked()) {
    // Delimited by the app's close: a client that keeps the connection needs it chunked.
    if (client_version_ >= 11) {
      response.chunked(true);
    } else {
      client_keep_alive_ = false;
    }
  }
  if (response.chunked() && client_version_ < 11) {
    response.chunked(false);
    client_keep_alive_ = false;
  }
  response.version(client_version_);
  response.keep_alive(client_keep_alive_);
  // No body after the head of an answer to HEAD, a 204 or a 304, whatever its framing fields say.
  response_out_.start(response.base(), !no_body && response.chunked());
  response_started_ = true;
  if (no_body) {
    client_expires_after(shared_.settings.idle_timeout);
    net::async_write(client_, response_out_.next(nullptr, 0, true),
                     [self = shared_from_this(), exchange](beast::error_code write_ec, std::size_t) {
                       if (exchange != self->exchange_) return;
                       if (write_ec) {
                         self->shared_.metrics->requests[ProxyMetrics::failed].add();
                         self->close_client();
                         return;
                       }
                       self->finish_exchange();
                     });
    return;
  }
  relay_response();
}

void Session::relay_response() {
  auto& body = response_->get().body();
  if (!response_->is_done()) {
    reserve_for_body(upstream_buffer_, response_->content_length());
    body.data = relay_buffer(response_->content_length());
    body.size = relay_size_;
    upstream_expires_after(shared_.settings.idle_timeout);
    // read_some: an event stream's events go on one by one, as the app sends them.
    bhttp::async_read_some(
        *upstream_, upstream_buffer_, *response_,
        beast::bind_front_handler(&Session::on_response_read, shared_from_this(), exchange_));
    return;
  }
  body.data = nullptr;
  body.size = 0;
  body.more = false;
  write_response();
}

void Session::on_response_read(std::uint64_t exchange, beast::error_code ec, std::size_t) {
  if (exchange != exchange_) return;
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    // The head is gone to the client already: all that is left is to cut the answer off, which the
    // client sees (a short body, a missing last chunk, a reset).
    spdlog::debug("proxy: {} broke off the response: {}", upstream_name(), ec.message());
    shared_.metrics->requests[ProxyMetrics::failed].add();
    reset_socket(*upstream_);
    reset_socket(client_);
    return;
  }
  if (!upstream_may_continue()) {
    on_term_ended(exchange_);
    return;
  }
  auto& body = response_->get().body();
  body.size = relay_size_ - body.size;
  body.data = relay_.get();
  body.more = !response_->is_done();
  if (body.size == 0 && body.more) {
    relay_response();
    return;
  }
  write_response();
}

void Session::write_response() {
  client_expires_after(shared_.settings.idle_timeout);
  const auto& body = response_->get().body();
  net::async_write(client_, response_out_.next(static_cast<const char*>(body.data), body.size, !body.more),
                   beast::bind_front_handler(&Session::on_response_written, shared_from_this(), exchange_));
}

void Session::on_response_written(std::uint64_t exchange, beast::error_code ec, std::size_t) {
  if (exchange != exchange_) return;
  if (ec) {
    // The client went away: the app's answer has nowhere to go, and its connection is in an unknown
    // place of the message.
    shared_.metrics->requests[ProxyMetrics::failed].add();
    if (upstream_) reset_socket(*upstream_);
    close_client();
    return;
  }
  if (!response_out_.done()) {
    relay_response();
    return;
  }
  finish_exchange();
}

void Session::start_tunnel() {
  auto& response = response_->get();
  remove_hop_by_hop(response, true);
  response.set(bhttp::field::connection, "Upgrade");
  response.version(client_version_);
  response_out_.start(response.base(), false);
  response_started_ = true;
  client_expires_after(shared_.settings.idle_timeout);
  net::async_write(client_, response_out_.next(nullptr, 0, true),
                   [self = shared_from_this(), exchange = exchange_](beast::error_code ec, std::size_t) {
                     if (exchange != self->exchange_) return;
                     if (ec) {
                       self->end_tunnel(ec);
                       return;
                     }
                     self->join_connections();
                   });
}

void Session::join_connections() {
  // A tunnel has no idle timeout: an idle WebSocket is normal. TCP keep-alive finds a dead peer.
  client_deadline_ = kNoDeadline;
  upstream_deadline_ = kNoDeadline;
  beast::error_code ignored;
  for (auto* socket : {&client_, upstream_.get()}) {
    socket->set_option(net::socket_base::keep_alive(true), ignored);
    socket->non_blocking(true, ignored);
  }
  // Bytes either side sent past its head are already in the parsers' buffers: they go first.
  // Then the message state goes: an idle tunnel holds no buffer at all.
  const auto take = [](beast::flat_buffer& buffer) {
    std::vector<char> bytes(buffer.size());
    net::buffer_copy(net::buffer(bytes), buffer.data());
    buffer = beast::flat_buffer{};
    return bytes;
  };
  tunnel_pending_[0] = take(client_buffer_);
  tunnel_pending_[1] = take(upstream_buffer_);
  request_out_.release();
  response_out_.release();
  response_.reset();
  relay_.reset();
  relay_size_ = 0;
  for (const bool from_client : {true, false}) {
    if (!tunnel_pending_[from_client ? 0 : 1].empty()) {
      tunnel_write(from_client);
    } else {
      tunnel_read(from_client);
    }
  }
}

// --proxy-mode tcp: the whole connection is the exchange. On the leader it goes to the app; on a
// follower to the leader's hop listener, announced by the hop line; else it is closed.
void Session::run_tcp() {
  watch_term();
  ++exchange_;
  started_ = steady_clock::now();
  if (const auto admitted = worker_.gate.admit()) {
    start_local_tcp(admitted);
    return;
  }
  const auto& settings = shared_.settings;
  const LeaderLookup leader = settings.leader ? settings.leader() : LeaderLookup{};
  if (settings.follower != ProxySettings::Follower::forward || !leader.proxy) {
    shared_.metrics->requests[ProxyMetrics::rejected].add();
    spdlog::debug("proxy: closing a connection of {}: this replica does not lead{}", peer_.to_string(),
                  leader.why_none.empty() ? std::string{} : "; " + leader.why_none);
    close_client();
    return;
  }
  route_ = Route::forwarded;
  connect_tcp(*leader.proxy,
              std::string(kHopLinePrefix) + hop_value(leader.holder, leader.acquire_time) + "\r\n");
}

// The hop listener: a follower's proxy says which term it forwards to in one line first.
void Session::run_tcp_hop() {
  watch_term();
  ++exchange_;
  started_ = steady_clock::now();
  client_expires_after(shared_.settings.connect_timeout);
  // A dynamic_string_buffer, which refers to hop_line_: asio copies a DynamicBuffer_v1 into the
  // operation, so an owning buffer (Beast's flat_buffer) would be read into a copy.
  net::async_read_until(
      client_, net::dynamic_buffer(hop_line_, kMaxHopLine), "\r\n",
      [self = shared_from_this(), exchange = exchange_](beast::error_code ec, std::size_t n) {
        if (exchange != self->exchange_) return;
        if (ec) {
          spdlog::debug("proxy: no hop line from {}: {}", self->peer_.to_string(), ec.message());
          self->close_client();
          return;
        }
        const std::string line = self->hop_line_.substr(0, n - 2);
        // What came after the line is the connection's first bytes: they go on first.
        self->client_buffer_.commit(net::buffer_copy(self->client_buffer_.prepare(self->hop_line_.size() - n),
                                                     net::buffer(self->hop_line_) + n));
        self->hop_line_.clear();
        const auto admitted = self->worker_.gate.admit();
        const auto named = line.rfind(kHopLinePrefix, 0) == 0
                               ? parse_hop(std::string_view(line).substr(kHopLinePrefix.size()))
                               : std::nullopt;
        if (!named || !admitted || named->holder != admitted->holder ||
            named->acquire_time != admitted->acquire_time) {
          // Never forwarded again: only the leader of exactly that term serves it.
          spdlog::debug(
              "proxy: closing a forwarded connection of {}: it names a term this replica does not lead ({})",
              self->peer_.to_string(), line);
          self->shared_.metrics->requests[ProxyMetrics::rejected].add();
          self->close_client();
          return;
        }
        self->start_local_tcp(admitted);
      });
}

void Session::start_local_tcp(std::shared_ptr<const AdmittedTerm> admitted) {
  route_ = Route::local;
  term_ = std::move(admitted);
  worker_.gate.enter(gate_entry_, term_->number, exchange_);
  entered_ = true;
  connect_tcp(shared_.settings.upstream, {});
}

void Session::connect_tcp(const tcp::endpoint& to, std::string first_bytes) {
  if (!upstream_may_continue()) {
    on_term_ended(exchange_);
    return;
  }
  upstream_endpoint_ = to;
  upstream_ = std::make_unique<Socket>(worker_.io.get_executor());
  upstream_expires_after(shared_.settings.connect_timeout);
  upstream_->async_connect(to, [self = shared_from_this(), exchange = exchange_,
                                first_bytes = std::move(first_bytes)](beast::error_code ec) {
    if (exchange != self->exchange_) return;
    if (ec) {
      self->shared_.metrics->requests[ProxyMetrics::failed].add();
      spdlog::debug("proxy: cannot connect to {}: {}", self->upstream_name(), ec.message());
      self->upstream_.reset();
      self->close_client();
      return;
    }
    beast::error_code ignored;
    self->upstream_->set_option(tcp::no_delay(true), ignored);
    self->upstream_buffer_.clear();
    if (first_bytes.empty()) {
      self->join_connections();
      return;
    }
    auto line = std::make_shared<std::string>(first_bytes);
    net::async_write(*self->upstream_, net::buffer(*line),
                     [self, exchange, line](beast::error_code write_ec, std::size_t) {
                       if (exchange != self->exchange_) return;
                       if (write_ec) {
                         self->end_tunnel(write_ec);
                         return;
                       }
                       self->join_connections();
                     });
  });
}

void Session::tunnel_read(bool from_client) {
  auto& from = from_client ? client_ : *upstream_;
  // Wait for bytes without a buffer; read them into the worker's scratch buffer only once they are
  // there (a thousand idle WebSockets cost their sockets, not 2 x 16 KiB each).
  from.async_wait(tcp::socket::wait_read,
                  [self = shared_from_this(), exchange = exchange_, from_client](beast::error_code ec) {
                    if (exchange != self->exchange_) return;
                    if (ec) {
                      self->end_tunnel(ec);
                      return;
                    }
                    auto& socket = from_client ? self->client_ : *self->upstream_;
                    auto& scratch = self->worker_.scratch;
                    const std::size_t n = socket.read_some(net::buffer(scratch), ec);
                    if (ec == net::error::would_block || ec == net::error::try_again) {
                      self->tunnel_read(from_client);
                      return;
                    }
                    if (ec) {
                      self->end_tunnel(ec, from_client);
                      return;
                    }
                    self->tunnel_pending_[from_client ? 0 : 1].assign(scratch.data(), scratch.data() + n);
                    self->tunnel_write(from_client);
                  });
}

void Session::tunnel_write(bool from_client) {
  // Both directions: nothing to the app, and nothing from it, once the term has ended.
  if (!upstream_may_continue()) {
    on_term_ended(exchange_);
    return;
  }
  auto& to = from_client ? *upstream_ : client_;
  net::async_write(
      to, net::buffer(tunnel_pending_[from_client ? 0 : 1]),
      [self = shared_from_this(), exchange = exchange_, from_client](beast::error_code ec, std::size_t) {
        if (exchange != self->exchange_) return;
        if (ec) {
          self->end_tunnel(ec);
          return;
        }
        auto& pending = self->tunnel_pending_[from_client ? 0 : 1];
        pending.clear();
        pending.shrink_to_fit();
        self->tunnel_read(from_client);
      });
}

void Session::end_tunnel(beast::error_code ec, std::optional<bool> from_client) {
  // An orderly end of one direction (its sender shut down its side) is passed on as one, and the
  // other direction goes on (a client may send its request, shut down, and read the answer). A FIN
  // to the app is a message too: it goes only while the term holds; else both are reset.
  if (ec == net::error::eof && from_client && upstream_may_continue()) {
    const int direction = *from_client ? 0 : 1;
    tunnel_done_[direction] = true;
    beast::error_code ignored;
    auto& to = *from_client ? *upstream_ : client_;
    to.shutdown(tcp::socket::shutdown_send, ignored);
    if (!tunnel_done_[1 - direction]) return;
  }
  // One side closed or broke: the other is closed too, as a WebSocket or TCP peer expects.
  const bool clean = ec == net::error::eof && upstream_may_continue();
  shared_.metrics->requests[route_ == Route::local ? ProxyMetrics::local : ProxyMetrics::forwarded].add();
  shared_.metrics->duration.observe(steady_clock::now() - started_);
  ++exchange_;
  leave_gate();
  if (upstream_) {
    if (clean) {
      beast::error_code ignored;
      upstream_->shutdown(tcp::socket::shutdown_both, ignored);
      upstream_->close(ignored);
    } else {
      reset_socket(*upstream_);
    }
    upstream_.reset();
  }
  if (clean) {
    close_client();
  } else {
    reset_socket(client_);
  }
}

void Session::finish_exchange() {
  shared_.metrics->requests[route_ == Route::local ? ProxyMetrics::local : ProxyMetrics::forwarded].add();
  shared_.metrics->duration.observe(steady_clock::now() - started_);
  leave_gate();
  // The app's connection goes back to the pool only between whole messages.
  if (upstream_ && upstream_keep_alive_ && response_->is_done() && request_out_.done() &&
      upstream_buffer_.size() == 0) {
    auto& idle = worker_.idle[upstream_endpoint_];
    if (idle.size() < kMaxIdleUpstreams) idle.push_back(std::move(upstream_));
  }
  upstream_.reset();
  upstream_deadline_ = kNoDeadline;
  response_.reset();
  // A kept-alive connection waits for its next request holding no large buffer.
  if (relay_size_ > kSmallBody) {
    relay_.reset();
    relay_size_ = 0;
  }
  if (client_buffer_.capacity() > kSmallBody) client_buffer_.shrink_to_fit();
  if (upstream_buffer_.capacity() > kSmallBody) upstream_buffer_.shrink_to_fit();
  ++exchange_;
  if (!client_keep_alive_) {
    linger();
    return;
  }
  read_header();
}

void Session::on_term_ended(std::uint64_t exchange) {
  if (exchange != exchange_ || !entered_) return;
  shared_.metrics->resets.add();
  spdlog::debug("proxy: the term of an exchange of {} ended: resetting it", peer_.to_string());
  if (upstream_) reset_socket(*upstream_);
  upstream_.reset();
  leave_gate();
  // Nothing of an answer has gone to the client yet (never so in TCP mode, which has no request): say why.
  if (!response_started_ && request_ && request_->is_done()) {
    reply(503, "term-ended", "this replica's leadership ended before the app answered",
          {{"Retry-After", std::to_string(shared_.settings.retry_after.count())}});
    return;
  }
  ++exchange_;
  reset_socket(client_);
}

void Session::fail_upstream(beast::error_code ec, std::string_view while_doing) {
  shared_.metrics->requests[ProxyMetrics::failed].add();
  spdlog::debug("proxy: {} failed {}: {}", upstream_name(), while_doing, ec.message());
  if (upstream_) reset_socket(*upstream_);
  upstream_.reset();
  if (response_started_) {
    ++exchange_;
    reset_socket(client_);
    return;
  }
  if (route_ == Route::forwarded && ec != beast::error::timeout) {
    // The leader's proxy cuts an exchange off when its term ends (or its process dies): leadership is
    // moving, which a client should retry like any 503. The request may have reached the app.
    reply(503, "leader-changed",
          upstream_name() + " broke off " + std::string(while_doing) + " (" + ec.message() +
              "): leadership is moving; the request may have reached the leader's app",
          {{"Retry-After", std::to_string(shared_.settings.retry_after.count())}});
    return;
  }
  reply(ec == beast::error::timeout ? 504 : 502,
        ec == beast::error::timeout ? "upstream-timeout" : "upstream-failed",
        upstream_name() + " failed " + std::string(while_doing) + ": " + ec.message());
}

void Session::reply(unsigned status, std::string_view reason, std::string message,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  leave_gate();
  if (upstream_) {
    reset_socket(*upstream_);
    upstream_.reset();
  }
  const std::uint64_t exchange = ++exchange_;
  // Unread body bytes would be taken for the next request: such a connection is not kept.
  const bool keep_alive = client_keep_alive_ && request_ && request_->is_header_done() && request_->is_done();
  auto& answer =
      own_answer_.emplace(static_cast<bhttp::status>(status), client_version_ >= 10 ? client_version_ : 11);
  answer.set(bhttp::field::server, "lease-elector");
  answer.set(bhttp::field::content_type, "application/json");
  for (auto& [name, value] : headers) answer.set(name, value);
  nlohmann::json body{{"error", message}, {"reason", reason}};
  answer.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  answer.keep_alive(keep_alive);
  answer.prepare_payload();
  if (head_request_) answer.body().clear();
  client_expires_after(shared_.settings.idle_timeout);
  bhttp::async_write(client_, answer,
                     [self = shared_from_this(), keep_alive, exchange](beast::error_code ec, std::size_t) {
                       if (exchange != self->exchange_) return;
                       self->own_answer_.reset();
                       if (ec) {
                         self->close_client();
                         return;
                       }
                       if (!keep_alive) {
                         self->linger();
                         return;
                       }
                       self->read_header();
                     });
}

void Session::close_client() {
  ++exchange_;
  if (upstream_) reset_socket(*upstream_);
  upstream_.reset();
  leave_gate();
  beast::error_code ignored;
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.close(ignored);
}

void Session::linger() {
  beast::error_code ignored;
  client_.shutdown(tcp::socket::shutdown_send, ignored);
  client_expires_after(kLingerTimeout);
  client_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->lingered_bytes_ += n;
                            if (ec || self->lingered_bytes_ > 256 * 1024) {
                              beast::error_code ignored;
                              self->client_.close(ignored);
                              return;
                            }
                            self->linger();
                          });
}

void Session::leave_gate() {
  if (entered_) worker_.gate.leave(gate_entry_);
  entered_ = false;
}

void Session::arm_timer(DeadlineClock::time_point at) {
  if (at >= timer_at_) return;
  timer_at_ = at;
  timer_.expires_at(at);  // cancels the wait pending, if any: its handler sees operation_aborted
  // Held weakly: an armed timer must not keep a finished connection alive for its timeout.
  timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (ec) return;  // moved, or the session is going
    if (const auto self = weak.lock()) self->on_timer();
  });
}

void Session::on_timer() {
  const auto now = DeadlineClock::now();
  timer_at_ = kNoDeadline;
  beast::error_code ignored;
  // A deadline that passed cancels what that side has under way, and keeps cancelling, every
  // kCancelAgain, until the side's next operation sets a deadline of its own: a composed read or
  // write (async_write, async_read_header) whose next inner operation was about to start when the
  // timer ran had nothing pending to cancel, and would go on with no deadline at all. Between two
  // operations of a side (its deadline passed while the other side works) there is nothing to
  // cancel; the socket stays open, as Beast's tcp_stream left it.
  auto next = kNoDeadline;
  if (client_deadline_ <= now) {
    client_.cancel(ignored);
    next = now + kCancelAgain;
  } else {
    next = client_deadline_;
  }
  if (upstream_deadline_ <= now) {
    if (upstream_) {
      upstream_timed_out_ = true;
      upstream_->cancel(ignored);
      next = std::min(next, now + kCancelAgain);
    } else {
      upstream_deadline_ = kNoDeadline;  // nothing left to time out
    }
  } else {
    next = std::min(next, upstream_deadline_);
  }
  if (next != kNoDeadline) arm_timer(next);
}

}  // namespace

void ProxyServer::Worker::accept(Acceptor& from, bool hop) {
  from.async_accept([this, &from, hop](beast::error_code ec, Socket socket) {
    if (ec == net::error::operation_aborted || !from.is_open()) return;
    if (ec) {
      spdlog::warn("proxy: accept failed: {}", ec.message());
      accept(from, hop);
      return;
    }
    beast::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    if (shared.connections.fetch_add(1) >= shared.settings.max_connections) {
      shared.connections.fetch_sub(1);
      if (!shared.at_cap_reported.exchange(true)) {
        spdlog::warn("proxy: {} open connections, the cap; closing new ones",
                     shared.settings.max_connections);
      }
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      shared.at_cap_reported = false;
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto session =
          std::make_shared<Session>(*this, std::move(socket), peer_ec ? net::ip::address{} : peer.address());
      if (hop) {
        session->run_tcp_hop();
      } else if (shared.settings.tcp) {
        session->run_tcp();
      } else {
        session->run();
      }
    }
    accept(from, hop);
  });
}

ProxyServer::ProxyServer(const tcp::endpoint& listen, ProxySettings settings, std::shared_ptr<TermGate> gate,
                         std::shared_ptr<ProxyMetrics> metrics) {
  if (settings.threads < 1) settings.threads = 1;
  auto shared = std::make_shared<ProxyServer::Shared>();
  shared->upstream_text = to_string(settings.upstream);
  shared->settings = std::move(settings);
  shared->gate = std::move(gate);
  shared->metrics = std::move(metrics);
  shared_ = shared;
  // Each worker listens on the same port; the kernel spreads new connections among them. Port 0 asks
  // the kernel for a port: the other workers take the same one.
  const auto listen_on = [](Acceptor& acceptor, tcp::endpoint& at, const char* what) {
    beast::error_code ec;
    const auto fail = [&] {
      throw std::system_error(ec, "cannot listen on " + to_string(at) + " (" + what + ")");
    };
    if (!acceptor.is_open()) acceptor.open(at.protocol(), ec);
    if (ec) fail();
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) fail();
    const int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec = beast::error_code(errno, boost::system::system_category());
      fail();
    }
    acceptor.bind(at, ec);
    if (ec) fail();
    acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) fail();
    at = acceptor.local_endpoint();
  };
  tcp::endpoint bind_to = listen;
  // TCP mode's hop listener: on the same address, a port of the kernel's choosing.
  tcp::endpoint hop_at(listen.address(), 0);
  for (int i = 0; i < shared->settings.threads; ++i) {
    auto worker = std::make_unique<Worker>(*shared, listen.protocol());
    listen_on(worker->acceptor, bind_to, "proxy");
    if (shared->settings.tcp) listen_on(worker->hop_acceptor, hop_at, "proxy hop listener");
    workers_.push_back(std::move(worker));
  }
  local_endpoint_ = bind_to;
  hop_endpoint_ = hop_at;
}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::start() {
  for (auto& worker : workers_) {
    worker->accept(worker->acceptor, false);
    if (worker->hop_acceptor.is_open()) worker->accept(worker->hop_acceptor, true);
    worker->thread = std::thread([w = worker.get()] { w->io.run(); });
  }
}

void ProxyServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& worker : workers_) {
    net::post(worker->io, [w = worker.get()] {
      beast::error_code ignored;
      w->acceptor.close(ignored);
      w->hop_acceptor.close(ignored);
      w->idle.clear();
      w->io.stop();
    });
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Sessions still owned by queued handlers go with each io_context, in ~Worker.
}

}  // namespace le::proxy
