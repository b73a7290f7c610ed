#pragma once
// HttpTransport over one libcurl easy handle. Reusing the handle keeps the TCP+TLS connection to
// the API server open between renewals, as client-go's shared http.Transport does, so a renewal
// costs one round trip instead of a handshake.
//
// Not thread-safe: one instance per thread of use. For a second concurrent stream (a watch), make
// another with make_independent(): it gets its own connection.
#include <memory>
#include <string>

#include "kube/api_metrics.h"
#include "kube/cluster_config.h"
#include "kube/http_transport.h"
#include "kube/token_source.h"

namespace le::kube {

class CurlTransport final : public HttpTransport, public StreamingTransport {
 public:
  // Throws std::runtime_error only if libcurl cannot allocate a handle or rejects an option this
  // build needs (e.g. a libcurl without *_BLOB support); nothing is contacted here.
  explicit CurlTransport(ClusterConfig config);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  TransportResult request(std::string_view method, std::string_view path_and_query, std::string_view body,
                          std::string_view content_type, std::chrono::milliseconds timeout) override;
  const std::string& server() const override { return server_; }
  TransportResult stream(std::string_view path_and_query, std::chrono::milliseconds timeout,
                         StreamHandler& handler) override;

  // A new transport with the same credentials and its own connection and token source, counting
  // into the same metrics.
  std::unique_ptr<CurlTransport> make_independent() const;
  // Where every request's outcome, latency and the server's Date are counted; set before
  // make_independent(). Without it nothing is counted.
  void set_metrics(std::shared_ptr<ApiMetrics> metrics) { metrics_ = std::move(metrics); }

  // An answer larger than this is refused (a Lease is a few KiB).
  static constexpr std::size_t kMaxResponseBytes = 16 * 1024 * 1024;

 private:
  struct Exchange;
  TransportResult perform(std::string_view method, std::string_view path_and_query, std::string_view body,
                          std::string_view content_type, std::chrono::milliseconds timeout,
                          Exchange& exchange);
  TransportResult perform_once(std::string_view method, std::string_view path_and_query,
                               std::string_view body, std::string_view content_type,
                               std::chrono::milliseconds timeout, Exchange& exchange);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user);

  ClusterConfig config_;
  std::string server_;
  TokenSource token_;
  std::shared_ptr<ApiMetrics> metrics_;
  void* handle_ = nullptr;  // CURL*, kept opaque so that curl.h stays out of this header
};

}  // namespace le::kube
