#include "http/webhook.h"

#include <algorithm>
#include <functional>
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
#include <nlohmann/json.hpp>

#include "util/version.h"

namespace le::http {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

// Only the status line and headers of the app's answer are judged.
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
// A follower's answer holds until it changes; it is still sent again this often, so an app that
// restarted (and lost what it was told) hears the state within this.
constexpr std::chrono::minutes kIdleRefresh{1};
constexpr milliseconds kMinRefresh{100};

std::string host_header(const WebhookSettings& settings) {
  const bool ipv6 = settings.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + settings.host + "]" : settings.host) + ":" + std::to_string(settings.port);
}

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

// One POST: resolve, connect, build the body (only now, so it is as fresh as it can be), send,
// read the answer's head; all within the timeout, whose expiry closes the socket.
class WebhookNotifier::Post : public std::enable_shared_from_this<Post> {
 public:
  using Build = std::function<std::pair<LeaderFeed::Reading, std::string>()>;
  using Done =
      std::function<void(bool success, const std::string& what, const std::optional<LeaderFeed::Reading>&)>;
  Post(const net::strand<net::any_io_executor>& strand, const WebhookSettings& settings, Build build,
       Done done)
      : settings_(settings),
        resolver_(strand),
        socket_(strand),
        deadline_(strand),
        build_(std::move(build)),
        done_(std::move(done)) {
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
    auto [reading, body] = build_();
    reading_ = std::move(reading);
    request_.method(bhttp::verb::post);
    request_.target(settings_.target);
    request_.version(11);
    request_.set(bhttp::field::host, host_header(settings_));
    request_.set(bhttp::field::user_agent, std::string("lease-elector/") + util::kVersion);
    request_.set(bhttp::field::content_type, "application/json");
    request_.keep_alive(false);
    request_.body() = std::move(body);
    request_.prepare_payload();
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
    finish(status >= 200 && status < 300, "status " + std::to_string(status));
  }

  void finish(bool success, const std::string& what) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    error_code ignored;
    socket_.close(ignored);
    if (done_) done_(success, what, reading_);
  }

  const WebhookSettings settings_;  // a copy: a POST may outlive the notifier in the io_context's queue
  tcp::resolver resolver_;
  tcp::socket socket_;
  net::steady_timer deadline_;
  Build build_;
  Done done_;
  std::optional<LeaderFeed::Reading> reading_;  // what was sent, once built
  boost::beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response_parser<bhttp::empty_body> parser_;
  bool finished_ = false;
};

struct WebhookNotifier::State {
  State(const net::any_io_executor& executor, std::shared_ptr<LeaderFeed> f, WebhookSettings s)
      : strand(net::make_strand(executor)), retry_timer(strand), feed(std::move(f)), settings(std::move(s)) {}
  net::strand<net::any_io_executor> strand;
  net::steady_timer retry_timer;
  std::shared_ptr<LeaderFeed> feed;
  WebhookSettings settings;
  bool stopped = false;
  std::shared_ptr<Post> post;
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
  state_->post = std::make_shared<Post>(
      state_->strand, state_->settings, std::move(build),
      [weak](bool success, const std::string& what, const std::optional<LeaderFeed::Reading>& sent) {
        if (const auto self = weak.lock()) self->on_sent(success, what, sent);
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
