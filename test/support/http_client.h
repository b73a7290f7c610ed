#pragma once
// A small blocking HTTP client (libcurl) for tests and the demo: polling /leader, driving the local
// API server's admin endpoint, and reading the Lease as an administrator would.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace le::testing {

struct HttpAnswer {
  int status = 0;  // 0: no answer (connection refused, timeout)
  std::string body;
  std::string error;
};

// A query parameter's value, percent-encoded (selectors and PromQL hold '=', ',', '{', '"').
std::string query_escape(const std::string& value);

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void set_ca_file(std::string path) { ca_file_ = std::move(path); }
  void set_bearer_token(std::string token) { token_ = std::move(token); }

  HttpAnswer request(const std::string& method, const std::string& url, const std::string& body = "",
                     const std::string& content_type = "application/json",
                     std::chrono::milliseconds timeout = std::chrono::milliseconds{2000});
  HttpAnswer get(const std::string& url,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds{2000}) {
    return request("GET", url, "", "", timeout);
  }

 private:
  void* curl_;
  std::string ca_file_;
  std::string token_;
};

}  // namespace le::testing
