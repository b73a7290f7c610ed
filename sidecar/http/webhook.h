#pragma once
// --notify-url: the sidecar POSTs the /leader answer to the app on every change of its index, so
// an app that serves HTTP anyway is told instead of asking. The body is built the moment it is
// written (never a stale "isLeader": true past its validUntilBoottimeNs), a failed POST is retried
// with back-off carrying the newest answer (a queued older one is never sent), and a leader's
// answer is sent again halfway to the end of the validity the app last got, as the stream does, so
// an app that follows only the webhook always holds a deadline in the future. Nothing in the
// election waits on it: a step-down is never delayed by a slow or failing app.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "http/leader_answer.h"
#include "http/leader_feed.h"
#include "util/metrics_text.h"

namespace le::http {

struct WebhookSettings {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
  std::string url;  // for logs
  // One POST, from resolving the host to the answer's head.
  std::chrono::nanoseconds timeout{std::chrono::seconds{2}};
  std::chrono::nanoseconds backoff_min{std::chrono::milliseconds{250}};
  std::chrono::nanoseconds backoff_max{std::chrono::seconds{10}};
};

// What a delivery tells the app, from what it was told last (nullopt: nothing yet) and what it
// is told now; `same_index`: a refresh with nothing new. "current" (the first), "refresh",
// "became leader", "stopped leading", "leader changed" or "changed".
std::string webhook_event(const std::optional<AnswerKey>& delivered, const AnswerKey& now, bool same_index);

// How long a delivered answer holds before it is sent again with nothing new: halfway to the end
// of a leader's validity (at least 100 ms), else `idle`.
std::chrono::nanoseconds webhook_refresh_after(const LeaderAnswer& delivered, std::chrono::nanoseconds idle);

class WebhookNotifier : public std::enable_shared_from_this<WebhookNotifier> {
 public:
  static std::shared_ptr<WebhookNotifier> create(const boost::asio::any_io_executor& executor,
                                                 std::shared_ptr<LeaderFeed> feed, WebhookSettings settings);
  ~WebhookNotifier();
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  // Sends the current answer at once, then every change. Any thread.
  void start();
  // Ends the deliveries: a POST under way is cancelled. Any thread; idempotent.
  void stop();

  // lease_elector_webhook_deliveries_total{result} for /metrics.
  void write_metrics(util::MetricsText& out, std::string_view lease_name) const;

 private:
  WebhookNotifier(const boost::asio::any_io_executor& executor, std::shared_ptr<LeaderFeed> feed,
                  WebhookSettings settings);
  void watch(std::chrono::nanoseconds max_wait);
  void wait_for_news();
  void on_reading(std::uint64_t watch_number, std::uint64_t index);
  void send();
  void on_sent(bool success, const std::string& what, const std::optional<LeaderFeed::Reading>& sent);

  struct State;
  std::unique_ptr<State> state_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace le::http
