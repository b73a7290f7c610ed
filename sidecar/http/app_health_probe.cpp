#include "http/app_health_probe.h"

#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
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

// The kubelet reads at most this much of a probe's answer; the status line and headers are all
// that is judged here.
constexpr std::uint32_t kHeaderLimit = 8 * 1024;

std::string host_header(const AppHealthSettings& settings) {
  const bool ipv6 = settings.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + settings.host + "]" : settings.host) + ":" + std::to_string(settings.port);
}

}  // namespace

std::optional<bool> HealthTally::record(bool success) {
  if (success) {
    failures_in_a_row_ = 0;
    ++successes_in_a_row_;
    if (healthy_ != true && successes_in_a_row_ >= success_threshold_) return healthy_ = true;
  } else {
    successes_in_a_row_ = 0;
    ++failures_in_a_row_;
    if (healthy_ != false && failures_in_a_row_ >= failure_threshold_) return healthy_ = false;
  }
  return std::nullopt;
}

// One check: resolve, connect, send the GET, read the answer's head; all within the timeout. The
// deadline closes the socket, which ends whatever step is under way.
class AppHealthProbe::Check : public std::enable_shared_from_this<Check> {
 public:
  using Done = std::function<void(bool success, const std::string& what)>;
  Check(const net::strand<net::any_io_executor>& strand, const AppHealthSettings& settings, Done done)
      : settings_(settings), resolver_(strand), socket_(strand), deadline_(strand), done_(std::move(done)) {
    parser_.header_limit(kHeaderLimit);
  }

  void start() {
    deadline_.expires_after(settings_.timeout);
    deadline_.async_wait([self = shared_from_this()](const error_code& error) {
      if (!error) {
        self->finish(false, "no answer within " +
                                std::to_string(duration_cast<milliseconds>(self->settings_.timeout).count()) +
                                "ms");
      }
    });
    resolver_.async_resolve(
        settings_.host, std::to_string(settings_.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](const error_code& error, const tcp::resolver::results_type& found) {
          self->on_resolved(error, found);
        });
  }
  // The probe stopped: end at once, telling nobody.
  void abandon() {
    done_ = nullptr;
    finish(false, "stopped");
  }

 private:
  void on_resolved(const error_code& error, const tcp::resolver::results_type& found) {
    if (finished_) return;
    if (error) return finish(false, "cannot resolve " + settings_.host + ": " + error.message());
    net::async_connect(
        socket_, found,
        [self = shared_from_this()](const error_code& e, const tcp::endpoint&) { self->on_connected(e); });
  }
  void on_connected(const error_code& error) {
    if (finished_) return;
    if (error) return finish(false, "cannot connect: " + error.message());
    request_.method(bhttp::verb::get);
    request_.target(settings_.target);
    request_.version(11);
    request_.set(bhttp::field::host, host_header(settings_));
    request_.set(bhttp::field::user_agent, std::string("lease-elector/") + util::kVersion);
    request_.set(bhttp::field::accept, "*/*");
    request_.keep_alive(false);
    bhttp::async_write(socket_, request_, [self = shared_from_this()](const error_code& e, std::size_t) {
      self->on_written(e);
    });
  }
  void on_written(const error_code& error) {
    if (finished_) return;
    if (error) return finish(false, "cannot send the request: " + error.message());
    bhttp::async_read_header(
        socket_, buffer_, parser_,
        [self = shared_from_this()](const error_code& e, std::size_t) { self->on_read(e); });
  }
  void on_read(const error_code& error) {
    if (finished_) return;
    if (error) return finish(false, "no valid answer: " + error.message());
    const unsigned status = parser_.get().result_int();
    finish(status >= 200 && status < 300, std::to_string(status));
  }

  void finish(bool success, const std::string& what) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    socket_.close(ignored);
    if (done_) done_(success, what);
  }

  const AppHealthSettings settings_;  // a copy: a check may outlive the probe in the io_context's queue
  tcp::resolver resolver_;
  tcp::socket socket_;
  net::steady_timer deadline_;
  boost::beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> request_;
  bhttp::response_parser<bhttp::empty_body> parser_;
  Done done_;
  bool finished_ = false;
};

struct AppHealthProbe::State {
  State(const net::any_io_executor& executor, AppHealthSettings s, OnChange change)
      : strand(net::make_strand(executor)),
        timer(strand),
        settings(std::move(s)),
        on_change(std::move(change)),
        tally(settings.failure_threshold, settings.success_threshold) {}
  net::strand<net::any_io_executor> strand;
  net::steady_timer timer;
  AppHealthSettings settings;
  OnChange on_change;
  HealthTally tally;
  bool stopped = false;
  std::shared_ptr<Check> check;
};

std::shared_ptr<AppHealthProbe> AppHealthProbe::create(const net::any_io_executor& executor,
                                                       AppHealthSettings settings, OnChange on_change) {
  return std::shared_ptr<AppHealthProbe>(
      new AppHealthProbe(executor, std::move(settings), std::move(on_change)));
}

AppHealthProbe::AppHealthProbe(const net::any_io_executor& executor, AppHealthSettings settings,
                               OnChange on_change)
    : state_(std::make_unique<State>(executor, std::move(settings), std::move(on_change))) {}

AppHealthProbe::~AppHealthProbe() = default;

void AppHealthProbe::start() {
  net::post(state_->strand, [self = shared_from_this()] { self->run_check(); });
}

void AppHealthProbe::stop() {
  net::dispatch(state_->strand, [self = shared_from_this()] {
    self->state_->stopped = true;
    self->state_->timer.cancel();
    if (self->state_->check) self->state_->check->abandon();
    self->state_->check.reset();
  });
}

void AppHealthProbe::run_check() {
  if (state_->stopped) return;
  const auto started = std::chrono::steady_clock::now();
  std::weak_ptr<AppHealthProbe> weak = weak_from_this();
  state_->check = std::make_shared<Check>(state_->strand, state_->settings,
                                          [weak, started](bool success, const std::string& what) {
                                            if (const auto self = weak.lock())
                                              self->on_checked(success, what, started);
                                          });
  state_->check->start();
}

void AppHealthProbe::on_checked(bool success, const std::string& what,
                                std::chrono::steady_clock::time_point started) {
  // The Check is still running this call: keep it alive until it returns.
  const auto finished = std::move(state_->check);
  (success ? successes_ : failures_).fetch_add(1, std::memory_order_relaxed);
  const AppHealthSettings& settings = state_->settings;
  if (!success) spdlog::debug("app health check of {} failed: {}", settings.url, what);
  const bool judged_before = state_->tally.healthy().has_value();
  if (const auto verdict = state_->tally.record(success)) {
    healthy_.store(*verdict ? 1 : 0, std::memory_order_relaxed);
    if (*verdict) {
      spdlog::info("app health check of {}: healthy ({} good check(s) in a row, last {})", settings.url,
                   settings.success_threshold, what);
    } else {
      spdlog::warn("app health check of {}: {} ({} failed check(s) in a row, last: {})", settings.url,
                   judged_before ? "unhealthy" : "not healthy yet", settings.failure_threshold, what);
    }
    state_->on_change(*verdict, what);
  }
  if (state_->stopped) return;
  // A period from the start of this check, as the kubelet counts periodSeconds.
  state_->timer.expires_at(started + settings.period);
  state_->timer.async_wait([weak = weak_from_this()](const error_code& error) {
    if (error) return;
    if (const auto self = weak.lock()) self->run_check();
  });
}

void AppHealthProbe::write_metrics(util::MetricsText& out, std::string_view lease_name) const {
  using Type = util::MetricsText::Type;
  out.family("lease_elector_app_healthy", Type::gauge,
             "1 while the app's health check (--app-health-url) passes, 0 while it fails or before its first "
             "verdict. This replica campaigns only at 1; a leader that drops to 0 steps down.");
  out.sample("lease_elector_app_healthy", {{"lease", lease_name}},
             healthy_.load(std::memory_order_relaxed) == 1 ? 1.0 : 0.0);
  out.family("lease_elector_app_health_checks_total", Type::counter,
             "Checks of the app's health by result: success (2xx), failure (another status, no answer "
             "within the timeout, no connection).");
  out.sample("lease_elector_app_health_checks_total", {{"lease", lease_name}, {"result", "success"}},
             static_cast<double>(successes_.load(std::memory_order_relaxed)));
  out.sample("lease_elector_app_health_checks_total", {{"lease", lease_name}, {"result", "failure"}},
             static_cast<double>(failures_.load(std::memory_order_relaxed)));
}

}  // namespace le::http
