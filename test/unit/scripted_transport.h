#pragma once
// An HttpTransport for the kube clients' unit tests: answers from a script, records what was asked.
#include <chrono>
#include <deque>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kube/http_transport.h"

namespace le::kube::testing {

struct SentRequest {
  std::string method, path, body, content_type;
  std::chrono::milliseconds timeout;
};

class ScriptedTransport final : public HttpTransport {
 public:
  std::deque<TransportResult> answers;
  std::vector<SentRequest> sent;
  bool throw_next = false;  // the next request throws (after it was recorded)

  TransportResult request(std::string_view method, std::string_view path, std::string_view body,
                          std::string_view content_type, std::chrono::milliseconds timeout) override {
    sent.push_back(
        {std::string(method), std::string(path), std::string(body), std::string(content_type), timeout});
    if (throw_next) throw std::bad_alloc();
    auto answer = std::move(answers.front());
    answers.pop_front();
    return answer;
  }
  const std::string& server() const override { return server_; }

 private:
  std::string server_ = "https://fake";
};

// A JSON answer of the API server.
inline HttpResponse answer(int status, std::string body,
                           std::optional<std::string> retry_after = std::nullopt) {
  return HttpResponse{status, "application/json", std::move(retry_after), std::move(body)};
}

}  // namespace le::kube::testing
