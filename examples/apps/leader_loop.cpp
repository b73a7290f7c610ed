// An app that asks its lease-elector sidecar before each unit of leader work (C++20, POSIX sockets
// and nlohmann/json, no HTTP library). It keeps the app's side of the contract (README, "What the app
// must do"):
// - it polls GET /leader every POLL_INTERVAL_MS (default 200), more often than the release delay;
// - it starts a unit of work only if WORK_MS (its longest run, default 1000) fits before the
//   leadership's end: std::chrono::steady_clock at the moment the poll was *sent* plus validForMs;
// - the unit checks that deadline between its steps and stops at it;
// - no answer from the sidecar means "not the leader".
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds env_ms(const char* name, long fallback) {
  const char* text = std::getenv(name);
  return milliseconds{text && *text ? std::atol(text) : fallback};
}

long epoch_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// GET path from http://HOST:PORT; the body, or nothing on any failure.
std::optional<std::string> http_get(const std::string& url, const std::string& path) {
  const auto authority = url.substr(url.find("//") + 2);
  const auto colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon), port = authority.substr(colon + 1);
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return std::nullopt;
  const int fd = ::socket(found->ai_family, found->ai_socktype, 0);
  timeval timeout{1, 0};  // a sidecar that does not answer within 1 s is treated as "not leader"
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const bool connected = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  ::freeaddrinfo(found);
  std::string response;
  if (connected) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, n);
    }
  }
  if (fd >= 0) ::close(fd);
  const auto body = response.find("\r\n\r\n");
  // "HTTP/1.x 200 ..." only: any other answer is not a leadership claim.
  if (response.rfind("HTTP/1.", 0) != 0 || response.compare(8, 5, " 200 ") != 0 || body == std::string::npos)
    return std::nullopt;
  return response.substr(body + 4);
}

// Until when this replica leads, on the steady clock; nothing when it does not lead.
std::optional<Clock::time_point> leadership_deadline(const std::string& url) {
  const auto sent = Clock::now();
  const auto body = http_get(url, "/leader");
  if (!body) return std::nullopt;
  const auto answer = nlohmann::json::parse(*body, nullptr, false);
  if (answer.is_discarded() || answer.value("isLeader", false) != true || !answer.contains("validForMs"))
    return std::nullopt;
  return sent + milliseconds{answer["validForMs"].get<long>()};
}

// One unit of leader work, in steps that each check the deadline.
const char* do_work(Clock::time_point deadline, milliseconds work) {
  for (int step = 0; step < 10; ++step) {
    if (Clock::now() + work / 10 > deadline) return "stopped at the deadline";
    std::this_thread::sleep_for(work / 10);
  }
  return "done";
}

}  // namespace

int main() {
  const char* url_env = std::getenv("LEASE_ELECTOR_URL");
  const std::string url = url_env && *url_env ? url_env : "http://localhost:4040";
  const auto poll = env_ms("POLL_INTERVAL_MS", 200);
  const auto work = env_ms("WORK_MS", 1000);
  for (;;) {
    const auto deadline = leadership_deadline(url);
    if (deadline && *deadline - Clock::now() >= work) {
      std::cout << "work-start " << epoch_ms() << std::endl;
      const char* outcome = do_work(*deadline, work);
      std::cout << "work-end " << epoch_ms() << ' ' << outcome << std::endl;
      continue;
    }
    std::this_thread::sleep_for(poll);
  }
}
