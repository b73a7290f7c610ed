#pragma once
// Kubernetes Events for operators (`kubectl describe lease`, `kubectl describe pod`), written as
// client-go's tools/record writes them: core/v1 Events, because client-go's leader election records
// through that package (LeaseLock.RecordEvent: type Normal, reason LeaderElection, "<identity>
// became leader"), so a Lease shared with client-go electors shows one history in one format; and
// core/v1 is what kubectl describe lists on every server version we support (1.20 on).
//
// Sent from a queue of their own on a thread of their own: record() never blocks on the API server,
// so Events never delay the election or the routing. The queue is bounded; a full queue, a
// rate-limited object or a failing Events API drops the Event and counts it.
//
// Repeats are aggregated as client-go's EventCorrelator does (its eventLogger): an Event equal to
// one sent before (same object, type, reason, message) patches that Event's count and
// lastTimestamp instead of creating another, so the Role needs `create` and `patch` on events.
// Each object gets a token bucket as client-go's spam filter does (burst 25, one more every 5 min).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kube/http_transport.h"
#include "util/metrics_text.h"
#include "util/metrics_types.h"

namespace le::kube {

struct ObjectReference {
  std::string kind;         // "Lease", "Pod"
  std::string api_version;  // "coordination.k8s.io/v1", "v1"
  std::string namespace_name;
  std::string name;
  std::string uid;  // kubectl describe finds an object's Events by it
  std::string resource_version;
};

struct EventRecord {
  ObjectReference object;
  bool warning = false;  // type Warning, else Normal
  std::string reason;    // "LeaderElection"
  std::string message;   // "app-0 became leader"
};

// The core/v1 Event JSON for a first occurrence, as client-go's recorder builds it (name
// "<object name>.<hex nanoseconds>", first and last timestamp equal, count 1).
std::string event_json(const EventRecord& event, const std::string& name,
                       std::chrono::system_clock::time_point now, const std::string& component,
                       const std::string& instance);
// The strategic merge patch of a repeat: the new count and lastTimestamp.
std::string repeat_patch_json(std::int32_t count, std::chrono::system_clock::time_point now);

// client-go's correlation, pure and with time passed in: what to do with an Event now.
class EventCorrelator {
 public:
  struct Decision {
    enum class Action { create, patch, rate_limited } action = Action::create;
    std::string name;        // the Event's name (a new one for create)
    std::int32_t count = 1;  // for patch: the count to write
  };
  static constexpr int kBurst = 25;
  static constexpr std::chrono::seconds kRefill{300};
  static constexpr std::size_t kMaxRemembered = 256;

  Decision decide(const EventRecord& event, std::chrono::system_clock::time_point now);
  // The API server has it: future repeats patch `name` with the counts that follow.
  void sent(const EventRecord& event, const std::string& name, std::int32_t count);
  // The Event is gone (404 on a patch, e.g. expired after the server's --event-ttl): create anew.
  void forget(const EventRecord& event);

 private:
  static std::string key_of(const EventRecord& event);
  struct Seen {
    std::string name;
    std::int32_t count = 0;
  };
  struct Bucket {
    double tokens = kBurst;
    std::chrono::system_clock::time_point updated{};
  };
  // Least recently used last; bounded, like client-go's LRU caches.
  std::list<std::string> order_;
  std::map<std::string, std::pair<Seen, std::list<std::string>::iterator>> seen_;
  std::map<std::string, Bucket> buckets_;  // by object (kind/namespace/name/uid)
};

struct EventRecorderConfig {
  std::string component = "lease-elector";  // source.component, reportingComponent
  std::string instance;                     // reportingInstance: the replica's identity
  std::size_t queue_limit = 100;
  std::chrono::milliseconds request_timeout{5000};
  int attempts = 3;  // per Event, with retry_delay, then twice that, between them
  std::chrono::milliseconds retry_delay{1000};
};

class EventRecorder {
 public:
  EventRecorder(std::unique_ptr<HttpTransport> transport, EventRecorderConfig config);

  // Thread-safe; returns at once. Dropped (and counted) when the queue is full.
  void record(EventRecord event);
  // The sending loop; returns after stop() once the queue is empty or the deadline has passed.
  void run();
  // Thread-safe: send what is queued until `deadline`, then give up on the rest.
  void stop(std::chrono::steady_clock::time_point deadline);
  // Thread-safe: shutdown has begun; no request may run past `deadline` (the process's own
  // shutdown deadline plus the flush), even one of an Event recorded before stop().
  void bound_requests(std::chrono::steady_clock::time_point deadline);

  void write_metrics(util::MetricsText& out) const;

 private:
  enum Outcome { sent, aggregated, dropped_queue_full, dropped_rate_limited, failed, kOutcomes };
  bool send(const EventRecord& event);
  // Sleeps up to `delay`, returning early (false) when the stop deadline has passed.
  bool pause(std::chrono::milliseconds delay);

  std::unique_ptr<HttpTransport> transport_;
  EventRecorderConfig config_;
  EventCorrelator correlator_;  // the sending thread's alone

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<EventRecord> queue_;
  std::optional<std::chrono::steady_clock::time_point> stop_deadline_;
  std::optional<std::chrono::steady_clock::time_point> request_deadline_;
  // The earlier of the two deadlines, under mutex_.
  std::optional<std::chrono::steady_clock::time_point> deadline_locked() const;
  std::string last_failure_;  // log a repeated failure once

  util::Counter outcomes_[kOutcomes];
};

}  // namespace le::kube
