#pragma once
// Boost.Beast HTTP(S) server in the shape of Beast's example/http/server/async and
// advanced_server_flex: a listener accepting on one endpoint, one session per connection owned
// through shared_from_this, tcp_stream timeouts, a request_parser with limits, and a keep-alive
// loop. The session hands every request to a RequestHandler, which answers asynchronously so
// that injected latency is a timer, never a blocked io thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace fake {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// Writes a streamed (chunked) response body, one piece at a time, for watches.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void write(std::string chunk) = 0;
  // Ends the body; the connection is closed afterwards.
  virtual void finish() = 0;
  // Called once if the client goes away first.
  virtual void on_closed(std::function<void()> callback) = 0;
};

struct Reply {
  enum class Kind { Respond, Drop, Stream };
  Kind kind = Kind::Respond;
  HttpResponse response;  // Respond; for Stream, the status line and headers
  // Stream: called once the headers are written, with a sink that stays valid until finish() or
  // the on_closed callback.
  std::function<void(std::shared_ptr<StreamSink>)> start_stream;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Runs on the io thread; calls `done` exactly once, now or later.
  virtual void handle(HttpRequest request, std::function<void(Reply)> done) = 0;
};

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  // `ssl` null: plain HTTP.
  HttpListener(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint endpoint,
               std::shared_ptr<boost::asio::ssl::context> ssl, RequestHandler& handler);
  void run();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;
  RequestHandler& handler_;

  void do_accept();
};

// Parses "127.0.0.1:0", "[::1]:8443", "localhost:0"; nullopt when malformed.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(const std::string& text);
// "127.0.0.1:6443" or "[::1]:6443" as a URL host:port.
std::string url_host_port(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace fake
