#include "http/app_request.h"

#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "util/version.h"

namespace le::http {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

// Only the status line and headers of the app's answer are judged (the kubelet reads little more).
constexpr std::uint32_t kHeaderLimit = 8 * 1024;

std::string host_header(const AppEndpoint& endpoint) {
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

}  // namespace

struct AppRequest::State {
  State(const net::strand<net::any_io_executor>& strand, AppEndpoint e, Build b, Done d)
      : endpoint(std::move(e)),
        resolver(strand),
        socket(strand),
        deadline(strand),
        build(std::move(b)),
        done(std::move(d)) {
    parser.header_limit(kHeaderLimit);
  }
  const AppEndpoint endpoint;  // a copy: a request may outlive its owner in the io_context's queue
  tcp::resolver resolver;
  tcp::socket socket;
  net::steady_timer deadline;
  Build build;
  Done done;
  boost::beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> request;
  bhttp::response_parser<bhttp::empty_body> parser;
  bool finished = false;
};

AppRequest::AppRequest(const net::strand<net::any_io_executor>& strand, AppEndpoint endpoint, Build build,
                       Done done)
    : state_(std::make_unique<State>(strand, std::move(endpoint), std::move(build), std::move(done))) {}

AppRequest::~AppRequest() = default;

void AppRequest::start() {
  State& s = *state_;
  s.deadline.expires_after(s.endpoint.timeout);
  s.deadline.async_wait([self = shared_from_this()](const error_code& error) {
    if (error) return;
    self->finish(std::nullopt,
                 "no answer within " +
                     std::to_string(duration_cast<milliseconds>(self->state_->endpoint.timeout).count()) +
                     "ms");
  });
  s.resolver.async_resolve(
      s.endpoint.host, std::to_string(s.endpoint.port), tcp::resolver::numeric_service,
      [self = shared_from_this()](const error_code& error, const tcp::resolver::results_type& found) {
        self->on_resolved(error, found);
      });
}

void AppRequest::on_resolved(const error_code& error, const tcp::resolver::results_type& found) {
  State& s = *state_;
  if (s.finished) return;
  if (error) return finish(std::nullopt, "cannot resolve " + s.endpoint.host + ": " + error.message());
  net::async_connect(s.socket, found, [self = shared_from_this()](const error_code& e, const tcp::endpoint&) {
    self->on_connected(e);
  });
}

void AppRequest::on_connected(const error_code& error) {
  State& s = *state_;
  if (s.finished) return;
  if (error) return finish(std::nullopt, "cannot connect: " + error.message());
  AppRequestHead head = s.build();
  s.request.method_string(head.method);
  s.request.target(head.target);
  s.request.version(11);
  s.request.set(bhttp::field::host, host_header(s.endpoint));
  s.request.set(bhttp::field::user_agent, std::string("lease-elector/") + util::kVersion);
  s.request.set(bhttp::field::accept, "*/*");
  if (!head.content_type.empty()) s.request.set(bhttp::field::content_type, head.content_type);
  s.request.keep_alive(false);
  s.request.body() = std::move(head.body);
  s.request.prepare_payload();
  bhttp::async_write(s.socket, s.request,
                     [self = shared_from_this()](const error_code& e, std::size_t) { self->on_written(e); });
}

void AppRequest::on_written(const error_code& error) {
  State& s = *state_;
  if (s.finished) return;
  if (error) return finish(std::nullopt, "cannot send the request: " + error.message());
  bhttp::async_read_header(
      s.socket, s.buffer, s.parser,
      [self = shared_from_this()](const error_code& e, std::size_t) { self->on_read(e); });
}

void AppRequest::on_read(const error_code& error) {
  State& s = *state_;
  if (s.finished) return;
  if (error) return finish(std::nullopt, "no valid answer: " + error.message());
  finish(s.parser.get().result_int(), "");
}

void AppRequest::abandon() {
  state_->done = nullptr;
  finish(std::nullopt, "stopped");
}

void AppRequest::finish(std::optional<unsigned> status, const std::string& failure) {
  State& s = *state_;
  if (s.finished) return;
  s.finished = true;
  s.deadline.cancel();
  s.resolver.cancel();
  error_code ignored;
  s.socket.close(ignored);
  if (s.done) s.done(status, failure);
}

}  // namespace le::http
