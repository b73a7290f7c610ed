#include "http/server.h"

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace le::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A connection lives on one io_context run by one thread (see Server), so its socket and timer
// carry that io_context's executor itself: the type-erased any_io_executor would cost a virtual
// dispatch and a copy of a polymorphic executor in every operation, for nothing.
using ConnectionExecutor = net::io_context::executor_type;
using ConnectionSocket = net::basic_stream_socket<tcp, ConnectionExecutor>;
using DeadlineClock = std::chrono::steady_clock;
using DeadlineTimer =
    net::basic_waitable_timer<DeadlineClock, net::wait_traits<DeadlineClock>, ConnectionExecutor>;

std::string to_string(const tcp::endpoint& endpoint) {
  std::ostringstream out;
  out << endpoint;  // "[::1]:4040" for IPv6
  return out.str();
}

// After an error response the client may still be sending (the rest of an oversized header,
// say). Closing with unread data makes the kernel send RST, which can destroy the response
// before the client reads it; so the session first drains for a moment, as servers do for a
// "lingering close".
constexpr std::chrono::seconds linger_timeout{1};
constexpr std::size_t linger_max_bytes = 256 * 1024;
// Retry delay after an accept error that is not ours to fix (EMFILE, ENOBUFS): retrying at
// once would spin.
constexpr std::chrono::milliseconds accept_retry_delay{100};

// The status line and headers of an answer, whole (send) or streamed (an event stream's head).
template <class Body>
void set_head(bhttp::response<Body>& out, const Response& response, unsigned version, bool keep_alive) {
  out.version(version);
  out.result(response.status);
  out.set(bhttp::field::server, "lease-elector");
  out.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) out.insert(name, value);
  out.keep_alive(keep_alive);
}

}  // namespace

class Session;

// Accepts connections and keeps the registry of open sessions, for the cap and for stop().
// Sessions hold a shared_ptr to it, so it outlives every one of them.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::vector<net::io_context*> io_contexts, tcp::acceptor acceptor,
           std::shared_ptr<const RouteTable> routes, ServerLimits limits)
      : io_contexts_(std::move(io_contexts)),
        acceptor_(std::move(acceptor)),
        retry_timer_(acceptor_.get_executor()),
        routes_(std::move(routes)),
        limits_(limits),
        endpoint_text_(to_string(acceptor_.local_endpoint())) {}

  void start() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
  }
  void stop();
  std::size_t connection_count() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

  const RouteTable& routes() const { return *routes_; }
  const ServerLimits& limits() const { return limits_; }
  void forget(const Session* session) {
    std::lock_guard lock(mutex_);
    sessions_.erase(session);
  }

 private:
  void do_accept() {
    if (stopped()) return;
    // The io_contexts take the connections in turn; a connection stays on its io_context, and so on
    // its one thread, for life.
    net::io_context& io_context = *io_contexts_[next_io_context_];
    next_io_context_ = (next_io_context_ + 1) % io_contexts_.size();
    acceptor_.async_accept(io_context.get_executor(),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }
  void on_accept(beast::error_code ec, ConnectionSocket socket);
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

  std::vector<net::io_context*> io_contexts_;
  std::size_t next_io_context_ = 0;  // on the acceptor's strand only
  tcp::acceptor acceptor_;           // used on its strand only
  net::steady_timer retry_timer_;
  std::shared_ptr<const RouteTable> routes_;
  ServerLimits limits_;
  std::string endpoint_text_;

  mutable std::mutex mutex_;
  bool stopped_ = false;
  bool at_cap_reported_ = false;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;
};

// One connection: read a request, answer it, repeat while the client keeps the connection alive.
// Owned by the completion handlers in flight (shared_from_this), as in Beast's examples. All of it
// runs on its socket's io_context, which one thread runs: no strand is needed.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ConnectionSocket&& socket, std::shared_ptr<Listener> listener, std::string peer)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        listener_(std::move(listener)),
        peer_(std::move(peer)) {}
  ~Session() { listener_->forget(this); }

  void run() {
    net::dispatch(socket_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }
  // From any thread.
  void close() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
      self->close_now();
    });
  }

 private:
  void do_read();
  void on_first_bytes(beast::error_code ec, std::size_t bytes);
  void read_request();
  void on_read(beast::error_code ec, std::size_t bytes);
  void send(Response response, unsigned version, bool keep_alive);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void linger();
  void on_linger(beast::error_code ec, std::size_t bytes);
  // A deferred answer (see Responder); on the session's io_context.
  friend class SessionResponder;
  void write_chunk(const std::shared_ptr<std::string>& data, const std::function<void(bool)>& written);

  // The connection's deadline: past it, the connection is closed, and whatever read or write is
  // pending completes with operation_aborted (timed_out_ tells why). Beast's tcp_stream would
  // start and cancel a timer wait for every read and write, and reset two timers at each
  // expires_after: several operations on the reactor's timer queue, under its lock, per request.
  // Here a deadline is a stored time; the one timer is moved only when a deadline comes earlier
  // than the instant it is set for, and when it fires before the deadline (which has moved later)
  // it waits again. A keep-alive request then touches the timer queue about once per read timeout.
  void expire_after(std::chrono::milliseconds timeout) { expire_at(DeadlineClock::now() + timeout); }
  void expire_at(DeadlineClock::time_point deadline);
  void wait_for_deadline(DeadlineClock::time_point at);
  void on_timer();
  void close_now();

  ConnectionSocket socket_;
  DeadlineTimer timer_;
  DeadlineClock::time_point deadline_ = DeadlineClock::time_point::max();  // max: none
  DeadlineClock::time_point timer_at_ = DeadlineClock::time_point::max();  // max: no wait pending
  bool timed_out_ = false;
  std::shared_ptr<Listener> listener_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  // An event stream's head and its serializer; the first chunk writes the head.
  std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_serializer_;
  bool stream_head_written_ = false;
  // While a deferred answer holds the connection: when ServerLimits::deferred_timeout closes it
  // (max: never). Between an event stream's chunks it is the connection's deadline.
  DeadlineClock::time_point deferred_until_ = DeadlineClock::time_point::max();
  bool first_request_ = true;
  std::size_t lingered_bytes_ = 0;
  std::array<char, 4096> discard_{};
};

// The Responder of one deferred request: it owns the session until it has answered, and posts
// everything to the session's io_context.
class SessionResponder final : public Responder {
 public:
  SessionResponder(std::shared_ptr<Session> session, unsigned version, bool keep_alive)
      : session_(std::move(session)), version_(version), keep_alive_(keep_alive) {}

  void respond(Response response) override {
    net::post(session_->socket_.get_executor(), [session = session_, response = std::move(response),
                                                 version = version_, keep_alive = keep_alive_]() mutable {
      session->send(std::move(response), version, keep_alive);
    });
  }

  void start_stream(Response head) override {
    net::post(session_->socket_.get_executor(),
              [session = session_, head = std::move(head), version = version_] {
                auto& out = session->stream_head_.emplace();
                set_head(out, head, version, false);
                out.chunked(true);
              });
  }

  void send_chunk(std::string data, std::function<void(bool)> written) override {
    net::post(session_->socket_.get_executor(),
              [session = session_, data = std::make_shared<std::string>(std::move(data)),
               written = std::move(written)]() mutable { session->write_chunk(data, written); });
  }

 private:
  std::shared_ptr<Session> session_;
  unsigned version_;
  bool keep_alive_;
};

void Listener::on_accept(beast::error_code ec, ConnectionSocket socket) {
  if (ec == net::error::operation_aborted || stopped()) return;
  if (ec) {
    spdlog::warn("http: accept on {} failed: {}; retrying in {} ms", endpoint_text_, ec.message(),
                 accept_retry_delay.count());
    retry_timer_.expires_after(accept_retry_delay);
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }

  beast::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  auto peer_text = peer_ec ? std::string{"?"} : to_string(peer);

  // The socket until a new session takes it; closed below when none does (refused).
  std::optional<ConnectionSocket> unclaimed{std::move(socket)};
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      // stop() ran on another thread since the check above; it will not see this connection.
    } else if (sessions_.size() >= limits_.max_connections) {
      // Closed without a word: answering would cost what the cap is there to save. Logged once
      // per stretch at the cap, so a flood does not also flood the log.
      if (!at_cap_reported_) {
        spdlog::warn("http: {} open connections on {}, the cap; closing new ones (first: {})",
                     sessions_.size(), endpoint_text_, peer_text);
        at_cap_reported_ = true;
      }
    } else {
      at_cap_reported_ = false;
      session = std::make_shared<Session>(std::move(*unclaimed), shared_from_this(), std::move(peer_text));
      unclaimed.reset();
      sessions_.emplace(session.get(), session);
    }
  }
  if (session) {
    session->run();
  } else {
    beast::error_code ignored;
    unclaimed->close(ignored);
  }
  do_accept();
}

void Listener::stop() {
  std::vector<std::weak_ptr<Session>> open;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    for (const auto& [key, session] : sessions_) open.push_back(session);
  }
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
  // Outside the lock: dropping the last reference runs ~Session, which takes it.
  for (const auto& weak : open) {
    if (auto session = weak.lock()) session->close();
  }
}

void Session::expire_at(DeadlineClock::time_point deadline) {
  deadline_ = deadline;
  if (deadline < timer_at_) wait_for_deadline(deadline);
}

void Session::wait_for_deadline(DeadlineClock::time_point at) {
  timer_at_ = at;
  timer_.expires_at(at);  // cancels the wait pending, if any: its handler sees operation_aborted
  // Held weakly: an armed timer must not keep a finished connection alive for its read timeout.
  timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (ec) return;  // moved, or the connection is closing
    if (const auto self = weak.lock()) self->on_timer();
  });
}

void Session::on_timer() {
  const auto now = DeadlineClock::now();
  if (now < deadline_) {
    // The deadline moved later since the timer was set. Wait again, unless the timer was moved
    // after this wait had already completed (another wait is pending then).
    if (timer_at_ <= now) {
      timer_at_ = DeadlineClock::time_point::max();
      if (deadline_ != DeadlineClock::time_point::max()) wait_for_deadline(deadline_);
    }
    return;
  }
  timed_out_ = true;
  close_now();
}

void Session::close_now() {
  beast::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  timer_at_ = DeadlineClock::time_point::max();
}

void Session::do_read() {
  // stop() may have closed the socket while the last response was being written.
  if (!socket_.is_open()) return;
  parser_.emplace();
  parser_->header_limit(listener_->limits().header_limit);
  parser_->body_limit(listener_->limits().body_limit);
  if (first_request_ || buffer_.size() > 0) {
    read_request();
    return;
  }
  // Between requests the connection is idle, and may stay so for idle_timeout; the tighter
  // read_timeout starts with the next request's first byte.
  expire_after(listener_->limits().idle_timeout);
  socket_.async_read_some(buffer_.prepare(1024),
                          beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
}

void Session::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    // Idle timeout, the client closing, or stop(): nothing to answer.
    if (ec != net::error::eof && ec != net::error::operation_aborted) {
      spdlog::debug("http: {}: {}", peer_, ec.message());
    }
    close_now();
    return;
  }
  buffer_.commit(bytes);
  read_request();
}

void Session::read_request() {
  expire_after(listener_->limits().read_timeout);
  bhttp::async_read(socket_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::on_read(beast::error_code ec, std::size_t /*bytes*/) {
  if (timed_out_) {
    // The read deadline passed mid-request (a slow client): no one to answer.
    spdlog::debug("http: {}: no whole request within the read timeout", peer_);
    return;
  }
  if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted) {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  if (ec) {
    // Malformed or oversized requests get an answer before the close, so a client can see
    // what it did wrong; the connection is not reused, since where the next request would
    // begin is unknown.
    unsigned status = 0;
    if (ec == bhttp::error::header_limit) {
      status = 431;
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::partial_message) {
      status = 400;
    }
    spdlog::debug("http: {}: bad request: {}", peer_, ec.message());
    if (status == 0) {
      // A reset, or the client gave up mid-request: no one to answer.
      close_now();
      return;
    }
    send(json_error(status, ec.message()), 11, false);
    return;
  }

  const auto& message = parser_->get();
  Request request;
  request.method = std::string{message.method_string()};
  request.target = std::string{message.target()};
  for (const auto& field : message) request.headers.emplace_back(field.name_string(), field.value());

  Response response = listener_->routes().route(request);
  if (response.defer) {
    spdlog::debug("http: {} \"{} {}\" answered later", peer_, request.method, request.target);
    // Nothing is read until it has answered: one request at a time, as without a deferral. The
    // read deadline is over; only deferred_timeout, if set, bounds the wait.
    auto defer = std::move(response.defer);
    if (const auto timeout = listener_->limits().deferred_timeout)
      deferred_until_ = DeadlineClock::now() + *timeout;
    expire_at(deferred_until_);
    defer(std::make_shared<SessionResponder>(shared_from_this(), message.version(), message.keep_alive()));
    return;
  }
  spdlog::debug("http: {} \"{} {}\" {}", peer_, request.method, request.target, response.status);
  send(std::move(response), message.version(), message.keep_alive());
}

void Session::send(Response response, unsigned version, bool keep_alive) {
  // A deferred answer has come: the connection is an ordinary one again.
  deferred_until_ = DeadlineClock::time_point::max();
  response_.emplace();
  auto& out = *response_;
  set_head(out, response, version, keep_alive);
  // Set by hand rather than by prepare_payload(), which would announce 0 for a HEAD answer.
  out.content_length(response.body.size());
  if (!response.omit_body) out.body() = std::move(response.body);

  expire_after(listener_->limits().write_timeout);
  bhttp::async_write(socket_, out,
                     beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive));
}

void Session::on_write(bool keep_alive, beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    if (timed_out_) {
      spdlog::debug("http: {}: closed at its deadline before the response was written", peer_);
    } else if (ec != net::error::operation_aborted) {
      spdlog::debug("http: {}: write failed: {}", peer_, ec.message());
    }
    close_now();
    return;
  }
  response_.reset();
  if (!keep_alive) {
    linger();
    return;
  }
  first_request_ = false;
  do_read();
}

void Session::linger() {
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  expire_after(linger_timeout);
  socket_.async_read_some(net::buffer(discard_),
                          beast::bind_front_handler(&Session::on_linger, shared_from_this()));
}

void Session::on_linger(beast::error_code ec, std::size_t bytes) {
  lingered_bytes_ += bytes;
  if (ec || lingered_bytes_ > linger_max_bytes) {
    close_now();
    return;
  }
  socket_.async_read_some(net::buffer(discard_),
                          beast::bind_front_handler(&Session::on_linger, shared_from_this()));
}

void Session::write_chunk(const std::shared_ptr<std::string>& data,
                          const std::function<void(bool)>& written) {
  if (!socket_.is_open()) {
    written(false);
    return;
  }
  const auto on_chunk = [self = shared_from_this(), data, written](beast::error_code ec, std::size_t) {
    if (ec) {
      if (self->timed_out_) {
        spdlog::debug("http: {}: stream closed at its deadline", self->peer_);
      } else if (ec != net::error::operation_aborted) {
        spdlog::debug("http: {}: stream write failed: {}", self->peer_, ec.message());
      }
      self->close_now();
    } else {
      // Between chunks only deferred_timeout, if set, bounds the stream.
      self->expire_at(self->deferred_until_);
    }
    written(!ec);
  };
  expire_at(std::min(DeadlineClock::now() + listener_->limits().write_timeout, deferred_until_));
  if (stream_head_ && !stream_head_written_) {
    // The first chunk: the head goes first.
    stream_head_written_ = true;
    stream_serializer_.emplace(*stream_head_);
    bhttp::async_write_header(
        socket_, *stream_serializer_,
        [self = shared_from_this(), data, on_chunk](beast::error_code ec, std::size_t bytes) mutable {
          if (ec) {
            on_chunk(ec, bytes);
            return;
          }
          net::async_write(self->socket_, bhttp::make_chunk(net::buffer(*data)), std::move(on_chunk));
        });
    return;
  }
  net::async_write(socket_, bhttp::make_chunk(net::buffer(*data)), on_chunk);
}

Server::Server(net::io_context& io_context, const tcp::endpoint& endpoint,
               std::shared_ptr<const RouteTable> routes, ServerLimits limits)
    : Server(std::vector<net::io_context*>{&io_context}, endpoint, std::move(routes), limits) {}

Server::Server(const std::vector<net::io_context*>& io_contexts, const tcp::endpoint& endpoint,
               std::shared_ptr<const RouteTable> routes, ServerLimits limits) {
  if (!routes) throw std::invalid_argument("http::Server needs a route table");
  if (io_contexts.empty()) throw std::invalid_argument("http::Server needs an io_context");
  const auto fail = [&](const beast::error_code& ec) {
    throw std::system_error(ec, "cannot listen on " + to_string(endpoint));
  };
  // On a strand: stop() closes the acceptor from whatever thread calls it.
  tcp::acceptor acceptor(net::make_strand(*io_contexts.front()));
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) fail(ec);
  // A restarted sidecar can bind again while the old connections sit in TIME_WAIT.
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail(ec);
  acceptor.bind(endpoint, ec);
  if (ec) fail(ec);
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail(ec);
  local_endpoint_ = acceptor.local_endpoint();
  listener_ = std::make_shared<Listener>(io_contexts, std::move(acceptor), std::move(routes), limits);
  listener_->start();
}

Server::~Server() { stop(); }

void Server::stop() { listener_->stop(); }

std::size_t Server::connection_count() const { return listener_->connection_count(); }

}  // namespace le::http
