#pragma once
// An app behind the proxy, for the proxy's tests: a plain HTTP/1.1 server on a loopback port, one
// thread per connection, that logs on CLOCK_BOOTTIME every moment it received bytes, per exchange.
// The proxy's safety is judged from this log against the sidecars' leadership logs: no byte may
// reach an app outside its replica's term. Minimal on purpose (blocking sockets, its own small
// parser), so that it shares no code with the proxy it checks.
// Arrival times are the kernel's (see receive()).
//   GET  /hello   answers "<name> <Lease-Elector-Fencing-Token>"
//   POST /upload  reads the body (Content-Length or chunked) and answers its size
//   GET  /stream  sends a chunk every 20 ms until the connection breaks
//   GET  /ws      answers 101 and echoes every byte, until the connection breaks (a WebSocket's shape)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "leadership_terms.h"

namespace le::testing {

class RecordingApp {
 public:
  struct Exchange {
    std::string target;
    std::vector<std::int64_t> received_ns;  // each recv() that returned bytes
    bool complete = false;                  // the request was read whole and answered
    std::int64_t broken_ns = 0;             // when a read or write failed mid-exchange (0: never)
  };

  explicit RecordingApp(std::string name) : name_(std::move(name)) {
    // CLOEXEC: the sidecars the tests start must not inherit (and hold open) the app's sockets.
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 64) != 0)
      throw std::runtime_error("recording app: cannot listen");
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~RecordingApp() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  RecordingApp(const RecordingApp&) = delete;
  RecordingApp& operator=(const RecordingApp&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Exchange> exchanges() const {
    std::lock_guard lock(mutex_);
    return exchanges_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
      std::lock_guard lock(mutex_);
      open_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  std::size_t begin_exchange() {
    std::lock_guard lock(mutex_);
    exchanges_.push_back({});
    return exchanges_.size() - 1;
  }
  void note_received(std::size_t exchange, std::int64_t at) {
    std::lock_guard lock(mutex_);
    exchanges_[exchange].received_ns.push_back(at);
  }
  void note(std::size_t exchange, bool complete, bool broken, std::string target = {}) {
    std::lock_guard lock(mutex_);
    auto& e = exchanges_[exchange];
    if (!target.empty()) e.target = target;
    if (complete) e.complete = true;
    if (broken && e.broken_ns == 0) e.broken_ns = boot_now_ns();
  }

  // Reads more bytes into `buffer`; false when the connection ended or broke.
  // The time noted is the kernel's arrival time of the bytes (SO_TIMESTAMPNS, on the wall clock,
  // moved to CLOCK_BOOTTIME by the two clocks' offset read at once after), not when this thread got
  // round to reading them: on a loaded machine that can be much later, and a byte that arrived
  // inside the term would be noted outside it.
  bool receive(int fd, std::string& buffer, std::size_t exchange) {
    char chunk[16384];
    char control[CMSG_SPACE(sizeof(timespec))];
    iovec io{chunk, sizeof chunk};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const auto n = ::recvmsg(fd, &message, 0);
    if (n <= 0) return false;
    std::int64_t arrived = boot_now_ns();
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec wall{};
        std::memcpy(&wall, CMSG_DATA(c), sizeof wall);
        timespec now_wall{};
        ::clock_gettime(CLOCK_REALTIME, &now_wall);
        const std::int64_t boot = boot_now_ns();
        const auto ns = [](const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
        arrived = std::min(arrived, boot - (ns(now_wall) - ns(wall)));
      }
    }
    note_received(exchange, arrived);
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  static bool send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  static std::string header_value(const std::string& head, std::string name) {
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return {};
    auto start = at + name.size() + 3;
    while (start < head.size() && head[start] == ' ') ++start;
    return head.substr(start, head.find("\r\n", start) - start);
  }

  void serve(int fd) {
    std::string buffer;
    for (;;) {
      const std::size_t exchange = begin_exchange();
      // The head.
      std::size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!receive(fd, buffer, exchange)) {
          if (!buffer.empty()) note(exchange, false, true);
          return close_connection(fd);
        }
      }
      const std::string head = buffer.substr(0, head_end + 2);
      buffer.erase(0, head_end + 4);
      const std::string target =
          head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
      note(exchange, false, false, target);
      // The body.
      std::size_t body_size = 0;
      if (header_value(head, "Transfer-Encoding").find("chunked") != std::string::npos) {
        for (;;) {
          std::size_t line_end;
          while ((line_end = buffer.find("\r\n")) == std::string::npos) {
            if (!receive(fd, buffer, exchange)) return broken(fd, exchange);
          }
          const std::size_t size = std::stoul(buffer.substr(0, line_end), nullptr, 16);
          while (buffer.size() < line_end + 2 + size + 2) {
            if (!receive(fd, buffer, exchange)) return broken(fd, exchange);
          }
          buffer.erase(0, line_end + 2 + size + 2);
          body_size += size;
          if (size == 0) break;
        }
      } else if (const auto length = header_value(head, "Content-Length"); !length.empty()) {
        const std::size_t size = std::stoul(length);
        while (buffer.size() < size) {
          if (!receive(fd, buffer, exchange)) return broken(fd, exchange);
        }
        buffer.erase(0, size);
        body_size = size;
      }
      std::string body;
      if (target == "/ws") {
        // An upgrade: 101, then every byte received is echoed back, until the connection breaks.
        if (!send_all(
                fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
          return broken(fd, exchange);
        if (!buffer.empty() && !send_all(fd, buffer)) return broken(fd, exchange);
        for (;;) {
          std::string echoed;
          if (!receive(fd, echoed, exchange)) return broken(fd, exchange);
          if (!send_all(fd, echoed)) return broken(fd, exchange);
        }
      }
      if (target == "/stream") {
        if (!send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
          return broken(fd, exchange);
        for (int i = 0; !stopping_; ++i) {
          const std::string data = "tick " + std::to_string(i) + "\n";
          char size[16];
          std::snprintf(size, sizeof size, "%zx\r\n", data.size());
          if (!send_all(fd, size + data + "\r\n")) return broken(fd, exchange);
          std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
        return close_connection(fd);
      }
      if (target.rfind("/upload", 0) == 0) {
        body = name_ + " received " + std::to_string(body_size);
      } else {
        body = name_ + " " + header_value(head, "Lease-Elector-Fencing-Token");
      }
      if (!send_all(
              fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body)) {
        return broken(fd, exchange);
      }
      note(exchange, true, false);
    }
  }
  void broken(int fd, std::size_t exchange) {
    note(exchange, false, true);
    close_connection(fd);
  }
  void close_connection(int fd) {
    std::lock_guard lock(mutex_);
    open_.erase(std::remove(open_.begin(), open_.end(), fd), open_.end());
    ::close(fd);
  }

  std::string name_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<int> open_;
  std::vector<std::thread> threads_;
  std::vector<Exchange> exchanges_;
};

}  // namespace le::testing
