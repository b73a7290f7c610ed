#pragma once
// The request/response values the API logic works on, independent of Beast and sockets, so the
// whole server can be driven from unit tests.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "request_info.h"
#include "selectors.h"

namespace fake {

struct ApiRequest {
  std::string method;        // "GET"
  std::string target;        // path and query
  std::string content_type;  // as sent
  std::string authorization;
  std::string user_agent;
  std::string body;
};

// A ?watch=true request that passed authorization and validation; the HTTP layer streams it.
struct WatchSpec {
  std::string resource;
  std::string ns;
  std::uint64_t since = 0;  // resourceVersion to start after; 0 with no resourceVersion
  bool send_initial =
      false;  // no resourceVersion (or "0"): synthetic ADDED events for the current state first
  bool bookmarks = false;
  std::optional<unsigned> timeout_seconds;
  std::string label_selector;
  std::string field_selector;
};

struct ApiResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<WatchSpec> watch;
};

}  // namespace fake
