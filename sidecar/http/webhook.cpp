#include "http/webhook.h"

#include <algorithm>
#include <functional>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "http/app_request.h"

namespace le::http {

namespace net = boost::asio;
using boost::system::error_code;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

// A follower's answer holds until it changes; it is still sent again this often, so an app that
// restarted (and lost what it was told) hears the state within this.
constexpr std::chrono::minutes kIdleRefresh{1};
constexpr milliseconds kMinRefresh{100};

}  // namespace

std::string webhook_event(const std::optional<AnswerKey>& delivered, const AnswerKey& now, bool same_index) {
  if (!delivered) return "current";
  if (same_index) return "refresh";
  if (!delivered->is_leader && now.is_leader) return "became leader";
  if (delivered->is_leader && !now.is_leader) return "stopped leading";
  if (delivered->name != now.name) return "leader changed";
  return "changed";
}

nanoseconds webhook_refresh_after(const LeaderAnswer& delivered, nanoseconds idle) {
  if (!delivered.valid_for) return idle;
  return std::max<nanoseconds>(*delivered.valid_for / 2, kMinRefresh);
}

struct WebhookNotifier::State {
  State(const net::any_io_executor& executor, std::shared_ptr<LeaderFeed> f, WebhookSettings s)
      : strand(net::make_strand(executor)), retry_timer(strand), feed(std::move(f)), settings(std::move(s)) {}
  net::strand<net::any_io_executor> strand;
  net::steady_timer retry_timer;
  std::shared_ptr<LeaderFeed> feed;
  WebhookSettings settings;
  bool stopped = false;
  std::shared_ptr<AppRequest> post;
  // What the app was last told (after a 2xx).
  std::optional<LeaderFeed::Reading> delivered;
  // The index the app is being, or was last, sent: news is any other. The feed is watched all
  // the time, also while a POST is under way or backing off, so that news never waits for an app
  // that is slow or failing (a "stopped leading" must reach it before the release).
  std::uint64_t watched_index = 0;
  // Every new watch gets a number; an answer to an older one is stale and ignored.
  std::uint64_t watch_number = 0;
  bool backing_off = false;
  nanoseconds backoff{0};
  // Failures in a row are logged one line each, and once more when a delivery succeeds again.
  int failures_in_a_row = 0;
};

std::shared_ptr<WebhookNotifier> WebhookNotifier::create(const net::any_io_executor& executor,
                                                         std::shared_ptr<LeaderFeed> feed,
                                                         WebhookSettings settings) {
  return std::shared_ptr<WebhookNotifier>(
      new WebhookNotifier(executor, std::move(feed), std::move(settings)));
}

WebhookNotifier::WebhookNotifier(const net::any_io_executor& executor, std::shared_ptr<LeaderFeed> feed,
                                 WebhookSettings settings)
    : state_(std::make_unique<State>(executor, std::move(feed), std::move(settings))) {}

WebhookNotifier::~WebhookNotifier() = default;

void WebhookNotifier::start() {
  net::post(state_->strand, [self = shared_from_this()] { self->send(); });
}

void WebhookNotifier::stop() {
  net::dispatch(state_->strand, [self = shared_from_this()] {
    self->state_->stopped = true;
    self->state_->retry_timer.cancel();
    if (self->state_->post) self->state_->post->abandon();
    self->state_->post.reset();
  });
}

void WebhookNotifier::watch(nanoseconds max_wait) {
  if (state_->stopped) return;
  const std::uint64_t number = ++state_->watch_number;
  std::weak_ptr<WebhookNotifier> weak = weak_from_this();
  state_->feed->wait(state_->watched_index, max_wait,
                     [weak, number, strand = state_->strand](const LeaderFeed::Reading& reading) {
                       net::post(strand, [weak, number, index = reading.index] {
                         if (const auto self = weak.lock()) self->on_reading(number, index);
                       });
                     });
}

void WebhookNotifier::wait_for_news() {
  // After a delivery: news at once, or a refresh when the delivered answer is half spent.
  const auto& delivered = *state_->delivered;
  // Measured from when the delivered answer was built: the app's deadline runs from there too.
  const auto refresh_at = delivered.answer.boot_now + webhook_refresh_after(delivered.answer, kIdleRefresh);
  watch(std::max<nanoseconds>(refresh_at - state_->feed->read().answer.boot_now, nanoseconds::zero()));
}

void WebhookNotifier::on_reading(std::uint64_t number, std::uint64_t index) {
  if (state_->stopped || number != state_->watch_number) return;
  if (index != state_->watched_index) {
    // News. A POST under way carries an older answer, and a back-off would hold the new one:
    // drop both and send the news now.
    if (state_->post) {
      state_->post->abandon();
      state_->post.reset();
    }
    state_->retry_timer.cancel();
    state_->backing_off = false;
    send();
    return;
  }
  // The wait ran out with nothing new: after a delivery, time to refresh it; while a POST is under
  // way or backing off, just keep watching.
  if (state_->post || state_->backing_off) {
    watch(kIdleRefresh);
    return;
  }
  send();
}

void WebhookNotifier::send() {
  if (state_->stopped) return;
  std::weak_ptr<WebhookNotifier> weak = weak_from_this();
  auto build = [feed = state_->feed, delivered = state_->delivered]() {
    LeaderFeed::Reading reading = feed->read();
    nlohmann::json body = leader_body(reading.answer, reading.index);
    const bool same_index = delivered && delivered->index == reading.index;
    body["event"] =
        webhook_event(delivered ? std::optional<AnswerKey>{delivered->answer.key()} : std::nullopt,
                      reading.answer.key(), same_index);
    if (delivered) body["previousIndex"] = delivered->index;
    return std::make_pair(std::move(reading), body.dump());
  };
  // What the POST under way carries, once built (after the connection is up).
  auto sent = std::make_shared<std::optional<LeaderFeed::Reading>>();
  state_->post = std::make_shared<AppRequest>(
      state_->strand, AppEndpoint{state_->settings.host, state_->settings.port, state_->settings.timeout},
      [build = std::move(build), sent, target = state_->settings.target] {
        auto [reading, body] = build();
        *sent = std::move(reading);
        return AppRequestHead{"POST", target, "application/json", std::move(body)};
      },
      [weak, sent](std::optional<unsigned> status, const std::string& failure) {
        if (const auto self = weak.lock()) {
          const bool success = status && *status >= 200 && *status < 300;
          self->on_sent(success, status ? "status " + std::to_string(*status) : failure, *sent);
        }
      });
  // Watch from the answer as it is now: the body will be built from this one or a newer one.
  state_->watched_index = state_->feed->read().index;
  watch(kIdleRefresh);
  state_->post->start();
}

void WebhookNotifier::on_sent(bool success, const std::string& what,
                              const std::optional<LeaderFeed::Reading>& sent) {
  const auto finished = std::move(state_->post);  // alive until this call returns
  if (state_->stopped) return;
  const WebhookSettings& settings = state_->settings;
  if (success && sent) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    if (state_->failures_in_a_row > 0) {
      spdlog::info("webhook {}: delivered again after {} failed attempt(s)", settings.url,
                   state_->failures_in_a_row);
    }
    state_->failures_in_a_row = 0;
    state_->backoff = nanoseconds::zero();
    state_->delivered = sent;
    state_->watched_index = sent->index;
    wait_for_news();
    return;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  ++state_->failures_in_a_row;
  // Back-off, then the answer as it is by then: newer state wins over the one that failed.
  state_->backoff = state_->backoff == nanoseconds::zero()
                        ? settings.backoff_min
                        : std::min(state_->backoff * 2, settings.backoff_max);
  spdlog::warn("webhook {}: POST failed ({}); retrying in {}ms with the answer as it is then", settings.url,
               what, duration_cast<milliseconds>(state_->backoff).count());
  // The watch set at the send goes on: news during the back-off ends it at once.
  state_->backing_off = true;
  state_->retry_timer.expires_after(state_->backoff);
  state_->retry_timer.async_wait([weak = weak_from_this()](const error_code& error) {
    if (error) return;
    const auto self = weak.lock();
    if (!self || !self->state_->backing_off) return;
    self->state_->backing_off = false;
    self->send();
  });
}

void WebhookNotifier::write_metrics(util::MetricsText& out, std::string_view lease_name) const {
  using Type = util::MetricsText::Type;
  out.family("lease_elector_webhook_deliveries_total", Type::counter,
             "POSTs of the /leader answer to --notify-url by result: delivered (2xx) or failed (another "
             "status, no answer within the timeout, no connection; retried with back-off).");
  out.sample("lease_elector_webhook_deliveries_total", {{"lease", lease_name}, {"result", "delivered"}},
             static_cast<double>(delivered_.load(std::memory_order_relaxed)));
  out.sample("lease_elector_webhook_deliveries_total", {{"lease", lease_name}, {"result", "failed"}},
             static_cast<double>(failed_.load(std::memory_order_relaxed)));
}

}  // namespace le::http
