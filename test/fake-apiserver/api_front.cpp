#include "api_front.h"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include "selectors.h"
#include "watch_stream.h"

namespace fake {
namespace {

// The one object a request is about, for per-object faults: its name in the path, or a list's or
// watch's fieldSelector metadata.name=NAME (kube-apiserver's RequestInfoFactory names such a
// request the same way). `resource` gives the field labels the selector may use besides metadata.name.
std::string object_name(const RequestInfo& info, const ResourceInfo* resource) {
  if (!info.name.empty()) return info.name;
  const auto selector = info.query.find("fieldSelector");
  if (selector == info.query.end()) return {};
  std::string error;
  const auto fields = Selector::parse_fields(
      selector->second, error, resource ? resource->field_labels : FieldLabels::metadata_only());
  if (!fields) return {};
  return fields->equals_value("metadata.name").value_or("");
}

}  // namespace

ApiRequest to_api_request(const HttpRequest& request) {
  ApiRequest r;
  r.method = std::string(request.method_string());
  r.target = std::string(request.target());
  r.content_type = std::string(request[http::field::content_type]);
  r.authorization = std::string(request[http::field::authorization]);
  r.user_agent = std::string(request[http::field::user_agent]);
  r.body = request.body();
  return r;
}

HttpResponse to_http_response(const ApiResponse& response, unsigned version) {
  HttpResponse r{static_cast<http::status>(response.status), version};
  r.set(http::field::server, "fake-apiserver");
  r.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) r.set(name, value);
  r.body() = response.body;
  return r;
}

ApiFront::ApiFront(boost::asio::io_context& ioc, ApiServer& api, ObjectStore& store, FaultRules& faults,
                   Stats& stats, IdGenerator& rng,
                   std::function<const ResourceInfo*(const std::string&)> resource_info)
    : ioc_(ioc),
      api_(api),
      store_(store),
      faults_(faults),
      stats_(stats),
      rng_(rng),
      resource_info_(std::move(resource_info)) {}

Reply ApiFront::to_reply(const ApiResponse& response, unsigned version) {
  Reply reply;
  reply.response = to_http_response(response, version);
  if (response.watch) {
    const ResourceInfo* info = resource_info_(response.watch->resource);
    if (info) {
      reply.kind = Reply::Kind::Stream;
      auto stream = std::make_shared<WatchStream>(ioc_, store_, *info, *response.watch);
      reply.start_stream = [stream](std::shared_ptr<StreamSink> sink) { stream->start(std::move(sink)); };
    }
  }
  return reply;
}

void ApiFront::handle(HttpRequest request, std::function<void(Reply)> done) {
  const ApiRequest api_request = to_api_request(request);
  const RequestInfo info = parse_request_info(api_request.method, api_request.target);
  const bool is_write =
      info.is_resource && (info.verb == "create" || info.verb == "update" || info.verb == "patch" ||
                           info.verb == "delete" || info.verb == "deletecollection");
  const std::string verb_label =
      info.is_resource ? info.verb + " " + info.rbac_resource() : api_request.method + " " + info.path;
  FaultConfig& faults = faults_.for_object(
      info.is_resource ? object_name(info, resource_info_ ? resource_info_(info.resource) : nullptr)
                       : std::string());
  const FaultDecision decision = decide_fault(faults, is_write, rng_);

  Reply reply;
  unsigned status = 0;
  switch (decision.action) {
    case FaultAction::DropApplied:
      api_.handle(api_request);
      [[fallthrough]];
    case FaultAction::DropUnapplied:
      reply.kind = Reply::Kind::Drop;
      break;
    case FaultAction::Error: {
      const auto error = error_for_code(
          faults.error_status, "injected fault",
          faults.retry_after_seconds ? std::optional(faults.retry_after_seconds) : std::nullopt);
      reply = to_reply(to_response(error), request.version());
      status = error.code;
      break;
    }
    case FaultAction::Conflict: {
      const auto error = conflict_modified({info.group, info.resource}, info.name);
      reply = to_reply(to_response(error), request.version());
      status = error.code;
      break;
    }
    case FaultAction::Pass: {
      const ApiResponse response = api_.handle(api_request);
      reply = to_reply(response, request.version());
      status = response.status;
      break;
    }
  }
  stats_.record(api_request.user_agent, api_.user_name(api_request), verb_label, status);
  spdlog::debug("{} {} -> {} ({}{})", api_request.method, api_request.target,
                status == 0 ? std::string("dropped") : std::to_string(status), api_.user_name(api_request),
                decision.action == FaultAction::Pass ? "" : ", fault");

  if (decision.delay.count() <= 0) return done(std::move(reply));
  auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, decision.delay);
  timer->async_wait([timer, done = std::move(done), reply = std::move(reply)](
                        boost::system::error_code) mutable { done(std::move(reply)); });
}

void AdminFront::handle(HttpRequest request, std::function<void(Reply)> done) {
  Reply reply;
  reply.response = to_http_response(handler_(to_api_request(request)), request.version());
  done(std::move(reply));
}

}  // namespace fake
