#include "kube/lease_watcher.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "kube/api_status.h"
#include "kube/watch_event.h"

namespace le::kube {

using namespace std::chrono;
using election::LeaseEvent;

LeaseWatcher::LeaseWatcher(std::unique_ptr<StreamingTransport> transport, std::string ns, std::string name,
                           election::LeaseEventSink& sink, std::function<double()> uniform01,
                           WatchTiming timing, std::shared_ptr<LeaseObjectCache> objects)
    : transport_(std::move(transport)),
      namespace_(std::move(ns)),
      name_(std::move(name)),
      collection_path_("/apis/coordination.k8s.io/v1/namespaces/" + namespace_ + "/leases"),
      sink_(sink),
      uniform01_(std::move(uniform01)),
      timing_(timing),
      objects_(std::move(objects)) {}

std::string LeaseWatcher::watch_path(const std::string& resource_version, seconds server_timeout) const {
  std::string path = collection_path_ + "?allowWatchBookmarks=true&fieldSelector=metadata.name%3D" + name_;
  if (!resource_version.empty()) path += "&resourceVersion=" + resource_version;
  path += "&timeoutSeconds=" + std::to_string(server_timeout.count()) + "&watch=true";
  return path;
}

void LeaseWatcher::run() {
  milliseconds backoff = timing_.first_backoff;
  std::string expired_at;  // the version a 410 refused, until the election has read past it
  bool waiting_for_reread = false;
  while (!stopped_) {
    std::string from = last_version_;
    if (waiting_for_reread) {
      // Resume from the election's read once it has one past the refused version; if it takes
      // too long, start from the current state (the server then sends it as an ADDED event).
      const auto deadline = steady_clock::now() + timing_.reread_wait;
      std::string fresh = sink_.resume_version();
      while (fresh == expired_at && steady_clock::now() < deadline && !stopped_) {
        if (!pause(milliseconds{20})) return;
        fresh = sink_.resume_version();
      }
      from = fresh == expired_at ? std::string{} : fresh;
      waiting_for_reread = false;
    } else if (from.empty()) {
      from = sink_.resume_version();
    }

    bool delivered_connected = false;
    const auto started = steady_clock::now();
    const Ending ending = watch_once(from, delivered_connected);
    const bool short_lived = steady_clock::now() - started < seconds{1};
    if (delivered_connected)
      sink_.deliver(LeaseEvent{LeaseEvent::Kind::disconnected, std::nullopt, "watch ended"});
    if (metrics_ && ending != Ending::stopped) {
      // A stream the server ends as soon as it starts is a failure, not its usual timeout.
      metrics_->count_watch_restart(ending == Ending::server_closed && !short_lived ? WatchRestart::timeout
                                    : ending == Ending::expired                     ? WatchRestart::expired
                                                                                    : WatchRestart::error);
    }
    switch (ending) {
      case Ending::stopped:
        return;
      case Ending::server_closed:
        // The server's timeoutSeconds: the usual end of a stream. Resume at once, unless streams
        // end as soon as they start (a proxy, a server going down): then back off.
        if (!short_lived) {
          backoff = timing_.first_backoff;
          continue;
        }
        break;
      case Ending::expired:
        sink_.deliver(LeaseEvent{LeaseEvent::Kind::expired, std::nullopt, "resourceVersion too old"});
        expired_at = from;
        last_version_.clear();
        waiting_for_reread = true;
        backoff = timing_.first_backoff;
        continue;
      case Ending::failed:
        if (delivered_connected) backoff = timing_.first_backoff;  // it worked for a while
        break;
    }
    const auto delay = duration_cast<milliseconds>(backoff * (0.5 + uniform01_()));
    if (!pause(delay)) return;
    backoff = std::min(backoff * 2, timing_.max_backoff);
  }
}

LeaseWatcher::Ending LeaseWatcher::watch_once(const std::string& resource_version,
                                              bool& delivered_connected) {
  const auto server_timeout = seconds{timing_.min_server_timeout.count() +
                                      static_cast<long>(timing_.min_server_timeout.count() * uniform01_())};
  const std::string path = watch_path(resource_version, server_timeout);
  LineSplitter lines;
  bool expired = false;
  bool broken = false;
  std::string broken_reason;

  StreamHandler handler;
  handler.on_open = [&](int status) {
    if (status >= 200 && status <= 299) {
      delivered_connected = true;
      sink_.deliver(LeaseEvent{LeaseEvent::Kind::connected, std::nullopt, {}});
    }
  };
  handler.cancelled = [&] { return stopped_.load(); };
  handler.on_data = [&](std::string_view piece) {
    if (!lines.append(piece)) {
      broken = true;
      broken_reason = "a watch event longer than the limit";
      return false;
    }
    while (auto line = lines.next()) {
      WatchEvent event = parse_watch_event(*line);
      switch (event.type) {
        case WatchEvent::Type::malformed:
          broken = true;
          broken_reason = "malformed watch event: " + event.message;
          return false;
        case WatchEvent::Type::error:
          if (event.too_old()) {
            expired = true;
          } else {
            broken = true;
            broken_reason = "ERROR event " + std::to_string(event.status_code) + " " + event.reason + ": " +
                            event.message;
          }
          return false;
        case WatchEvent::Type::bookmark:
          last_version_ = event.resource_version;
          break;
        case WatchEvent::Type::added:
        case WatchEvent::Type::modified:
        case WatchEvent::Type::deleted:
          if (event.name != name_) break;  // the field selector should have kept it out
          last_version_ = event.resource_version;
          // Kept before delivery: the election may build its next update on this object. A deleted
          // one too: an update on it then reaches the server, whose uid precondition refuses it
          // with 409 Conflict.
          if (objects_) objects_->remember(*event.lease);
          sink_.deliver(LeaseEvent{
              event.type == WatchEvent::Type::deleted ? LeaseEvent::Kind::deleted : LeaseEvent::Kind::changed,
              election::StoredLease(std::move(*event.lease)),
              {}});
          break;
      }
    }
    return true;
  };

  spdlog::debug("watching lease {}/{} from resourceVersion \"{}\"", namespace_, name_, resource_version);
  // The server ends the stream at its timeoutSeconds; the client allows a little more.
  const auto result =
      transport_->stream(path, duration_cast<milliseconds>(server_timeout + seconds{30}), handler);
  if (stopped_) return Ending::stopped;
  if (expired) {
    spdlog::info("watch of lease {}/{}: resourceVersion {} is too old; reading the lease again", namespace_,
                 name_, resource_version);
    return Ending::expired;
  }
  if (broken) {
    log_failure(broken_reason);
    return Ending::failed;
  }
  if (const auto* failure = std::get_if<TransportError>(&result)) {
    log_failure(failure->message);
    return Ending::failed;
  }
  const auto& response = std::get<HttpResponse>(result);
  if (response.status >= 200 && response.status <= 299) {
    last_failure_.clear();
    return Ending::server_closed;
  }
  if (response.status == 410) return Ending::expired;
  const auto error = parse_status_error(response.status, response.body, std::nullopt);
  if (response.status == 403) {
    log_failure(error.describe() + " (the Role needs the verbs list and watch on leases, resourceNames [\"" +
                name_ + "\"]; polling meanwhile)");
  } else {
    log_failure(error.describe());
  }
  return Ending::failed;
}

void LeaseWatcher::log_failure(const std::string& what) {
  if (what == last_failure_) {
    spdlog::debug("watch of lease {}/{} failed again: {}", namespace_, name_, what);
    return;
  }
  last_failure_ = what;
  spdlog::warn("watch of lease {}/{} failed: {}; polling until it is back", namespace_, name_, what);
}

bool LeaseWatcher::pause(nanoseconds delay) {
  std::unique_lock lock(mutex_);
  return !stop_signal_.wait_for(lock, delay, [this] { return stopped_.load(); });
}

void LeaseWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  stop_signal_.notify_all();
}

}  // namespace le::kube
