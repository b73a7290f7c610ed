#pragma once
// One HTTP/1.1 request from the sidecar to its app in the same Pod (the health check of
// --app-health-url, the POST of --notify-url): resolve, connect, build the request (only then, so
// that what it carries is as fresh as it can be), send it, read the answer's status line and
// headers; all within one timeout, whose expiry closes the socket and ends whatever step is under
// way. No keep-alive: one connection per request, as the kubelet's probes do.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

namespace le::http {

struct AppEndpoint {
  std::string host;
  std::uint16_t port = 80;
  std::chrono::nanoseconds timeout{std::chrono::seconds{1}};
};

struct AppRequestHead {
  std::string method = "GET";
  std::string target = "/";
  std::string content_type;  // with a body
  std::string body;
};

class AppRequest : public std::enable_shared_from_this<AppRequest> {
 public:
  // Called once connected; what it returns is sent.
  using Build = std::function<AppRequestHead()>;
  // The answer's status, or nullopt and what failed ("no answer within 1000ms", "cannot connect:
  // Connection refused", ...). Called once, on the strand, unless abandoned.
  using Done = std::function<void(std::optional<unsigned> status, const std::string& failure)>;

  AppRequest(const boost::asio::strand<boost::asio::any_io_executor>& strand, AppEndpoint endpoint,
             Build build, Done done);
  ~AppRequest();
  AppRequest(const AppRequest&) = delete;
  AppRequest& operator=(const AppRequest&) = delete;

  void start();
  // Ends it at once (closing the connection), telling nobody. On the strand.
  void abandon();

 private:
  void on_resolved(const boost::system::error_code& error,
                   const boost::asio::ip::tcp::resolver::results_type& found);
  void on_connected(const boost::system::error_code& error);
  void on_written(const boost::system::error_code& error);
  void on_read(const boost::system::error_code& error);
  void finish(std::optional<unsigned> status, const std::string& failure);

  struct State;  // the socket, the parser and the buffers: Beast stays in app_request.cpp
  std::unique_ptr<State> state_;
};

}  // namespace le::http
