#pragma once
// A client of the sidecar's GET /leader/stream (server-sent events) on a plain blocking socket:
// each event's data, parsed, and the boot-clock instant it was read. For the integration tests
// and the benchmarks, which time pushed answers against the sidecars' logs.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace le::testing {

struct PushedAnswer {
  nlohmann::json body;
  std::int64_t received_boot_ns = 0;
};

class EventStreamClient {
 public:
  // Connects to 127.0.0.1:port and sends the request; throws std::runtime_error on failure.
  explicit EventStreamClient(int port, const std::string& path = "/leader/stream");
  ~EventStreamClient();
  EventStreamClient(const EventStreamClient&) = delete;
  EventStreamClient& operator=(const EventStreamClient&) = delete;

  // The next event whose data satisfies `wanted` (all, by default), within `timeout`; nullopt at the
  // timeout or when the server closes the stream.
  std::optional<PushedAnswer> next_event(
      std::chrono::milliseconds timeout,
      const std::function<bool(const nlohmann::json&)>& wanted = [](const nlohmann::json&) { return true; });

 private:
  int fd_ = -1;
  std::string buffer_;
  std::int64_t last_read_boot_ns_ = 0;
};

}  // namespace le::testing
