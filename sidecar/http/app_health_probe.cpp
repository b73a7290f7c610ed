#include "http/app_health_probe.h"

#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "http/app_request.h"

namespace le::http {

namespace net = boost::asio;
using boost::system::error_code;

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
  std::shared_ptr<AppRequest> check;
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
  const AppHealthSettings& settings = state_->settings;
  state_->check = std::make_shared<AppRequest>(
      state_->strand, AppEndpoint{settings.host, settings.port, settings.timeout},
      [target = settings.target] {
        return AppRequestHead{"GET", target, "", ""};
      },
      [weak, started](std::optional<unsigned> status, const std::string& failure) {
        if (const auto self = weak.lock()) {
          const bool success = status && *status >= 200 && *status < 300;
          self->on_checked(success, status ? std::to_string(*status) : failure, started);
        }
      });
  state_->check->start();
}

void AppHealthProbe::on_checked(bool success, const std::string& what,
                                std::chrono::steady_clock::time_point started) {
  // The request is still running this call: keep it alive until it returns.
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
