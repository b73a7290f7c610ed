// libFuzzer target: an error answer from the API server (a Status body, or anything else a proxy
// may send) and its Retry-After header. The first two bytes pick the HTTP status; the header is
// the text up to the first newline, the body the rest.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/api_status.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int status = 100 + (data[0] << 8 | data[1]) % 500;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  std::optional<std::string_view> retry_after;
  if (const auto newline = rest.find('\n'); newline != std::string_view::npos) {
    retry_after = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
  }
  const auto now = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  const auto error = le::kube::parse_status_error(status, rest, retry_after, now);
  (void)error.describe();
  if (retry_after) (void)le::kube::parse_retry_after(*retry_after, now);
  return 0;
}
