#pragma once
// An app's webhook endpoint for the tests of --notify-url: accepts POSTs on a free loopback port,
// keeps every body with the boot-clock instant it arrived, and answers the status a test sets.
// Synchronous Beast on a thread of its own, one connection at a time (the sidecar sends one POST
// at a time). Header-only.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace le::testing {

class WebhookReceiver {
 public:
  struct Delivery {
    std::int64_t received_boot_ns = 0;
    std::string body;
  };

  WebhookReceiver() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~WebhookReceiver() {
    stopping_.store(true);
    boost::system::error_code ignored;
    // Wake the blocking accept with a connection of our own.
    boost::asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ignored);
    poke.close(ignored);
    thread_.join();
  }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  // From the next POST on: answer `status`.
  void answer(unsigned status) { status_.store(status); }
  // The next POST is read and then never answered (its connection is kept open); the receiver
  // goes on taking others.
  void hang_next() { hang_next_.store(true); }
  std::vector<Delivery> deliveries() const {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }
  // Every attempt, answered 2xx or not.
  int attempts() const { return attempts_.load(); }
  // The body of every attempt, answered 2xx or not, in arrival order.
  std::vector<std::string> attempt_bodies() const {
    std::lock_guard lock(mutex_);
    return attempt_bodies_;
  }

 private:
  static std::int64_t boot_ns() {
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  }
  void serve() {
    namespace bhttp = boost::beast::http;
    while (!stopping_.load()) {
      boost::system::error_code error;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, error);
      if (error || stopping_.load()) continue;
      boost::beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> request;
      bhttp::read(socket, buffer, request, error);
      if (error) continue;
      if (hang_next_.exchange(false)) {
        std::lock_guard lock(mutex_);
        attempt_bodies_.push_back(request.body());
        held_.push_back(std::move(socket));
        attempts_.fetch_add(1);
        continue;
      }
      const unsigned status = status_.load();
      {
        std::lock_guard lock(mutex_);
        attempt_bodies_.push_back(request.body());
        if (status >= 200 && status < 300 && request.method() == bhttp::verb::post) {
          deliveries_.push_back({boot_ns(), request.body()});
        }
      }
      attempts_.fetch_add(1);
      bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status), 11};
      response.body() = "{}";
      response.prepare_payload();
      bhttp::write(socket, response, error);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> status_{200};
  std::atomic<int> attempts_{0};
  mutable std::mutex mutex_;
  std::vector<Delivery> deliveries_;
  std::vector<std::string> attempt_bodies_;
  std::atomic<bool> hang_next_{false};
  std::vector<boost::asio::ip::tcp::socket> held_;  // the serving thread's alone
};

}  // namespace le::testing
