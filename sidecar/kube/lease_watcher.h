#pragma once
// Watches one Lease (?watch=true with a metadata.name field selector, which RBAC restricted by
// resourceNames requires) and delivers what changes to the election. Resumes from the last
// resourceVersion it saw; after 410 Expired (an ERROR event, at the start of the stream or later,
// or a plain HTTP 410) it tells the election to read the Lease again and resumes from that read.
// Reconnects with jittered exponential backoff; every stream is bounded by a server-side
// timeoutSeconds and a client-side timeout a little longer.
//
// Runs on its own thread with its own connection (a StreamingTransport of its own).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "election/lease_event.h"
#include "kube/api_metrics.h"
#include "kube/http_transport.h"
#include "kube/lease_object_cache.h"

namespace le::kube {

struct WatchTiming {
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{30'000};
  // The server ends each stream after a random time in [min, 2 * min), as client-go's reflector
  // asks (minWatchTimeout 5 minutes), so reconnects of many replicas do not line up.
  std::chrono::seconds min_server_timeout{300};
  // How long after an expiry to wait for the election's re-read before resuming without it.
  std::chrono::milliseconds reread_wait{1000};
};

class LeaseWatcher {
 public:
  // `objects` (the LeaseClient's, if given) keeps every Lease object an event carries, so that the
  // election can update a Lease it learned of from this watch.
  LeaseWatcher(std::unique_ptr<StreamingTransport> transport, std::string ns, std::string name,
               election::LeaseEventSink& sink, std::function<double()> uniform01, WatchTiming timing = {},
               std::shared_ptr<LeaseObjectCache> objects = nullptr);

  // Blocks until stop(): watch, deliver, reconnect.
  void run();
  // Thread-safe. An open stream ends within about a second.
  void stop();
  // Where restarts are counted (by reason); set before run().
  void set_metrics(std::shared_ptr<ApiMetrics> metrics) { metrics_ = std::move(metrics); }

  // The watch URL for a resume point ("" = from the current state).
  std::string watch_path(const std::string& resource_version, std::chrono::seconds server_timeout) const;

 private:
  enum class Ending { server_closed, expired, failed, stopped };
  Ending watch_once(const std::string& resource_version, bool& delivered_connected);
  // Sleeps up to `delay`, returning early (false) on stop().
  bool pause(std::chrono::nanoseconds delay);
  void log_failure(const std::string& what);

  std::unique_ptr<StreamingTransport> transport_;
  std::string namespace_;
  std::string name_;
  std::string collection_path_;
  election::LeaseEventSink& sink_;
  std::function<double()> uniform01_;
  WatchTiming timing_;
  std::shared_ptr<LeaseObjectCache> objects_;
  std::shared_ptr<ApiMetrics> metrics_;

  std::string last_version_;  // the newest resourceVersion the stream delivered
  std::string last_failure_;  // to log a repeated failure once, not at every retry

  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::condition_variable stop_signal_;
};

}  // namespace le::kube
