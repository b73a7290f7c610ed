#pragma once
// An app's health endpoint for the tests of --app-health-url: GET /healthz answers the status a
// test sets, or hangs (accepts the request and never answers). It is the sidecar's own HTTP server
// on a thread of its own, on a free loopback port. Header-only: link lease_elector_http.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/route_table.h"
#include "http/server.h"

namespace le::testing {

class AppDouble {
 public:
  AppDouble() {
    auto routes = std::make_shared<http::RouteTable>();
    routes->get("/healthz", [this](const http::Request&) {
      requests_.fetch_add(1);
      if (hang_.load()) {
        http::Response held;
        held.defer = [this](std::shared_ptr<http::Responder> responder) {
          std::lock_guard lock(mutex_);
          held_.push_back(std::move(responder));  // kept open, never answered
        };
        return held;
      }
      return http::json_response(status_.load(), "{}");
    });
    http::ServerLimits limits;
    server_ = std::make_unique<http::Server>(
        io_, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}, routes, limits);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~AppDouble() {
    {
      std::lock_guard lock(mutex_);
      held_.clear();
    }
    server_->stop();
    io_.stop();
    thread_.join();
  }
  AppDouble(const AppDouble&) = delete;
  AppDouble& operator=(const AppDouble&) = delete;

  int port() const { return server_->local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/healthz"; }
  // From the next request on: answer `status`.
  void answer(unsigned status) {
    hang_.store(false);
    status_.store(status);
  }
  // From the next request on: accept it and never answer.
  void hang() { hang_.store(true); }
  int requests() const { return requests_.load(); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::atomic<unsigned> status_{200};
  std::atomic<bool> hang_{false};
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<http::Responder>> held_;
};

}  // namespace le::testing
