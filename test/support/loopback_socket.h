#pragma once
// Raw TCP sockets on 127.0.0.1, for tests and benchmarks that speak bytes rather than go through
// an HTTP client: upgrades, chunked uploads sent piece by piece, forged headers, scripted apps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace le::testing {

// A blocking socket connected to 127.0.0.1:port, or -1 when the connection failed (the socket is
// closed then). `receive_timeout` bounds each recv(): a peer that never answers fails the caller's
// read (-1, EAGAIN) instead of hanging it; zero means none.
inline int connect_loopback(int port, std::chrono::seconds receive_timeout = std::chrono::seconds{5}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_timeout.count() > 0) {
    timeval timeout{static_cast<time_t>(receive_timeout.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A socket listening on 127.0.0.1 on a port of the kernel's choosing, written to `port`.
inline int listen_loopback(int& port, int backlog = 64) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, backlog) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

}  // namespace le::testing
