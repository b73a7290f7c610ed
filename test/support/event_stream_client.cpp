#include "event_stream_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "leadership_terms.h"

namespace le::testing {

using namespace std::chrono;

EventStreamClient::EventStreamClient(int port, const std::string& path) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string{"socket: "} + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + error);
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n";
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd_);
    throw std::runtime_error("sending the stream request failed");
  }
}

EventStreamClient::~EventStreamClient() { ::close(fd_); }

std::optional<PushedAnswer> EventStreamClient::next_event(
    milliseconds timeout, const std::function<bool(const nlohmann::json&)>& wanted) {
  const auto until = steady_clock::now() + timeout;
  while (true) {
    // An event's data line, "data: {...}\n"; the chunked framing around it is skipped by the search
    // (one event is one chunk, so a data line is never split by chunk headers).
    for (auto start = buffer_.find("data: "); start != std::string::npos; start = buffer_.find("data: ")) {
      const auto end = buffer_.find('\n', start);
      if (end == std::string::npos) break;
      auto body = nlohmann::json::parse(buffer_.substr(start + 6, end - start - 6));
      buffer_.erase(0, end + 1);
      if (wanted(body)) return PushedAnswer{std::move(body), last_read_boot_ns_};
    }
    const auto left = duration_cast<milliseconds>(until - steady_clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) continue;
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return std::nullopt;
    last_read_boot_ns_ = boot_now_ns();
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace le::testing
