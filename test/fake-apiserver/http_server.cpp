#include "http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <deque>

namespace fake {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr std::uint64_t kBodyLimit = 3 * 1024 * 1024;  // etcd's default request size limit
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

// The connection logic shared by plain and TLS sessions (Beast's advanced_server_flex shape):
// Derived provides stream(), do_eof() and shared_from_this().
template <class Derived>
class Session : public StreamSink {
 public:
  explicit Session(RequestHandler& handler) : handler_(handler) {}

  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    beast::get_lowest_layer(derived().stream()).expires_after(kIdleTimeout);
    http::async_read(derived().stream(), buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, derived().shared_from_this()));
  }

  // StreamSink
  void write(std::string chunk) override {
    if (closed_) return;
    pending_.push_back(std::move(chunk));
    if (pending_.size() == 1) write_next_chunk();
  }
  void finish() override {
    if (closed_ || finishing_) return;
    finishing_ = true;
    if (pending_.empty()) write_last_chunk();
  }
  void on_closed(std::function<void()> callback) override { on_closed_ = std::move(callback); }

 protected:
  beast::flat_buffer buffer_;

 private:
  Derived& derived() { return static_cast<Derived&>(*this); }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return derived().do_eof();
    if (ec) return;  // timeout, reset, or a request over the limits: drop the connection
    HttpRequest request = parser_->release();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    handler_.handle(std::move(request),
                    [self = derived().shared_from_this()](Reply reply) { self->on_reply(std::move(reply)); });
  }

  void on_reply(Reply reply) {
    switch (reply.kind) {
      case Reply::Kind::Drop:
        return drop();
      case Reply::Kind::Stream:
        return start_stream(std::move(reply));
      case Reply::Kind::Respond:
        break;
    }
    response_ = std::make_shared<HttpResponse>(std::move(reply.response));
    response_->version(version_);
    response_->keep_alive(keep_alive_);
    response_->prepare_payload();
    beast::get_lowest_layer(derived().stream()).expires_after(kIdleTimeout);
    http::async_write(
        derived().stream(), *response_,
        beast::bind_front_handler(&Session::on_write, derived().shared_from_this(), response_->need_eof()));
  }

  void on_write(bool close, beast::error_code ec, std::size_t) {
    if (ec) return;
    if (close) return derived().do_eof();
    response_.reset();
    do_read();
  }

  // Closes the TCP connection without an answer (and without a TLS close_notify): what a client
  // sees when the server or a load balancer in front of it dies mid-request.
  void drop() {
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(derived().stream()).socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  void start_stream(Reply reply) {
    stream_header_ = std::make_shared<http::response<http::empty_body>>(reply.response.result(), version_);
    for (const auto& field : reply.response) stream_header_->set(field.name_string(), field.value());
    stream_header_->chunked(true);
    stream_header_->keep_alive(false);
    stream_serializer_.emplace(*stream_header_);
    // A watch may stay quiet for long; its own timeoutSeconds ends it.
    beast::get_lowest_layer(derived().stream()).expires_never();
    http::async_write_header(derived().stream(), *stream_serializer_,
                             [self = derived().shared_from_this(), start = std::move(reply.start_stream)](
                                 beast::error_code ec, std::size_t) {
                               if (ec) return self->mark_closed();
                               self->watch_for_close();
                               start(std::static_pointer_cast<StreamSink>(self));
                             });
  }

  // A read that only completes when the client closes (or sends garbage) during a stream.
  void watch_for_close() {
    derived().stream().async_read_some(
        net::buffer(probe_), [self = derived().shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->mark_closed();
          self->watch_for_close();
        });
  }

  void write_next_chunk() {
    net::async_write(derived().stream(), http::make_chunk(net::buffer(pending_.front())),
                     [self = derived().shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->mark_closed();
                       self->pending_.pop_front();
                       if (!self->pending_.empty()) return self->write_next_chunk();
                       if (self->finishing_) self->write_last_chunk();
                     });
  }

  void write_last_chunk() {
    net::async_write(derived().stream(), http::make_chunk_last(),
                     [self = derived().shared_from_this()](beast::error_code, std::size_t) {
                       self->closed_ = true;
                       self->on_closed_ = nullptr;
                       self->derived().do_eof();
                     });
  }

  void mark_closed() {
    if (closed_) return;
    closed_ = true;
    pending_.clear();
    if (auto callback = std::move(on_closed_)) callback();
    on_closed_ = nullptr;
  }

  RequestHandler& handler_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  // Streaming state.
  std::shared_ptr<http::response<http::empty_body>> stream_header_;
  std::optional<http::response_serializer<http::empty_body>> stream_serializer_;
  std::deque<std::string> pending_;
  bool finishing_ = false;
  bool closed_ = false;
  std::function<void()> on_closed_;
  std::array<char, 512> probe_{};
};

class PlainSession : public Session<PlainSession>, public std::enable_shared_from_this<PlainSession> {
 public:
  PlainSession(tcp::socket&& socket, RequestHandler& handler)
      : Session(handler), stream_(std::move(socket)) {}
  using std::enable_shared_from_this<PlainSession>::shared_from_this;

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }
  beast::tcp_stream& stream() { return stream_; }
  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

 private:
  beast::tcp_stream stream_;
};

class SslSession : public Session<SslSession>, public std::enable_shared_from_this<SslSession> {
 public:
  SslSession(tcp::socket&& socket, net::ssl::context& ctx, RequestHandler& handler)
      : Session(handler), stream_(std::move(socket), ctx) {}
  using std::enable_shared_from_this<SslSession>::shared_from_this;

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(std::chrono::seconds(30));
      self->stream_.async_handshake(net::ssl::stream_base::server, self->buffer_.data(),
                                    [self](beast::error_code ec, std::size_t used) {
                                      if (ec) return;  // e.g. a client that does not trust our CA
                                      self->buffer_.consume(used);
                                      self->do_read();
                                    });
    });
  }
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  void do_eof() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

 private:
  beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace

HttpListener::HttpListener(net::io_context& ioc, tcp::endpoint endpoint,
                           std::shared_ptr<net::ssl::context> ssl, RequestHandler& handler)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), ssl_(std::move(ssl)), handler_(handler) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor_.set_option(net::ip::v6_only(true));
  acceptor_.bind(endpoint);  // throws with the reason (address in use, ...), reported by main
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void HttpListener::run() { do_accept(); }

void HttpListener::stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void HttpListener::do_accept() {
  acceptor_.async_accept(
      net::make_strand(ioc_), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) return;
        if (!ec) {
          if (self->ssl_) {
            std::make_shared<SslSession>(std::move(socket), *self->ssl_, self->handler_)->run();
          } else {
            std::make_shared<PlainSession>(std::move(socket), self->handler_)->run();
          }
        }
        self->do_accept();
      });
}

std::optional<tcp::endpoint> parse_endpoint(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
    return std::nullopt;
  const unsigned long p = std::stoul(port);
  if (p > 65535) return std::nullopt;
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, static_cast<unsigned short>(p));
}

std::string url_host_port(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address().to_string();
  const auto port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

}  // namespace fake
