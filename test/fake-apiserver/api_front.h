#pragma once
// The API listener's RequestHandler: counts the request, applies the configured faults (latency as
// a timer, error/conflict answers, dropped connections before or after applying), and otherwise
// answers through ApiServer; watches become streamed responses.
#include <boost/asio/io_context.hpp>

#include "api_server.h"
#include "faults.h"
#include "http_server.h"
#include "stats.h"

namespace fake {

class ApiFront final : public RequestHandler {
 public:
  ApiFront(boost::asio::io_context& ioc, ApiServer& api, ObjectStore& store, FaultRules& faults, Stats& stats,
           IdGenerator& rng, std::function<const ResourceInfo*(const std::string&)> resource_info);
  void handle(HttpRequest request, std::function<void(Reply)> done) override;

 private:
  boost::asio::io_context& ioc_;
  ApiServer& api_;
  ObjectStore& store_;
  FaultRules& faults_;  // single-threaded (one io_context); the admin API sets it
  Stats& stats_;
  IdGenerator& rng_;
  std::function<const ResourceInfo*(const std::string&)> resource_info_;

  Reply to_reply(const ApiResponse& response, unsigned version);
};

// The admin listener's RequestHandler: AdminApi, no faults.
class AdminFront final : public RequestHandler {
 public:
  explicit AdminFront(std::function<ApiResponse(const ApiRequest&)> handler) : handler_(std::move(handler)) {}
  void handle(HttpRequest request, std::function<void(Reply)> done) override;

 private:
  std::function<ApiResponse(const ApiRequest&)> handler_;
};

ApiRequest to_api_request(const HttpRequest& request);
HttpResponse to_http_response(const ApiResponse& response, unsigned version);

}  // namespace fake
