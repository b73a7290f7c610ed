#pragma once
// One HTTP exchange with the API server. The interface lets LeaseClient be tested with a scripted
// transport; curl_transport.h is the real one.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "util/version.h"

namespace le::kube {

using util::kUserAgent;

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::optional<std::string> retry_after;  // the raw Retry-After header, if any
  std::string body;
};

enum class TransportErrorKind {
  timeout,  // no complete answer within the timeout; a write may or may not have applied
  network,  // could not connect, TLS failed, connection dropped, answer unreadable
};

struct TransportError {
  TransportErrorKind kind = TransportErrorKind::network;
  std::string message;  // method, URL and the cause; never a credential
};

using TransportResult = std::variant<HttpResponse, TransportError>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // path_and_query starts with '/'. An empty body sends none (Content-Length: 0 for writes).
  virtual TransportResult request(std::string_view method, std::string_view path_and_query,
                                  std::string_view body, std::string_view content_type,
                                  std::chrono::milliseconds timeout) = 0;
  // The API server's base URL, for logs.
  virtual const std::string& server() const = 0;
};

// A long-lived response read as it arrives: a watch.
struct StreamHandler {
  // The status line and headers are in. For a 2xx status the body goes to on_data as it comes;
  // otherwise it is collected and returned like a request's.
  std::function<void(int status)> on_open;
  // A piece of a 2xx body. Returning false ends the stream.
  std::function<bool(std::string_view piece)> on_data;
  // Asked at least once a second while the stream is open, even when nothing arrives; true ends it.
  std::function<bool()> cancelled;
};

class StreamingTransport {
 public:
  virtual ~StreamingTransport() = default;
  // A GET whose 2xx body is streamed to the handler. Returns when the server ends the stream, the
  // handler ends it (both: an HttpResponse with the status), the timeout passes (a timeout error)
  // or the connection fails.
  virtual TransportResult stream(std::string_view path_and_query, std::chrono::milliseconds timeout,
                                 StreamHandler& handler) = 0;
};

}  // namespace le::kube
