#include "kube/event_recorder.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "kube/api_call.h"

namespace le::kube {

using namespace std::chrono;
using Json = nlohmann::json;

namespace {

// metav1.Time: RFC 3339 at second precision, UTC.
std::string format_time(system_clock::time_point t) {
  const std::time_t seconds = system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string object_key(const ObjectReference& o) {
  return o.kind + "/" + o.namespace_name + "/" + o.name + "/" + o.uid;
}

}  // namespace

std::string event_json(const EventRecord& event, const std::string& name, system_clock::time_point now,
                       const std::string& component, const std::string& instance) {
  const auto& o = event.object;
  Json involved = {
      {"kind", o.kind}, {"namespace", o.namespace_name}, {"name", o.name}, {"apiVersion", o.api_version}};
  if (!o.uid.empty()) involved["uid"] = o.uid;
  if (!o.resource_version.empty()) involved["resourceVersion"] = o.resource_version;
  const std::string at = format_time(now);
  Json body = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", name}, {"namespace", o.namespace_name}}},
               {"involvedObject", std::move(involved)},
               {"reason", event.reason},
               {"message", event.message},
               {"source", {{"component", component}}},
               {"firstTimestamp", at},
               {"lastTimestamp", at},
               {"count", 1},
               {"type", event.warning ? "Warning" : "Normal"},
               {"reportingComponent", component},
               {"reportingInstance", instance}};
  return body.dump();
}

std::string repeat_patch_json(std::int32_t count, system_clock::time_point now) {
  return Json{{"count", count}, {"lastTimestamp", format_time(now)}}.dump();
}

// ---------------------------------------------------------------------------------------------
// EventCorrelator

std::string EventCorrelator::key_of(const EventRecord& event) {
  return object_key(event.object) + "\n" + (event.warning ? "Warning" : "Normal") + "\n" + event.reason +
         "\n" + event.message;
}

EventCorrelator::Decision EventCorrelator::decide(const EventRecord& event, system_clock::time_point now) {
  // The spam filter first, as client-go's: every Event of an object costs a token.
  Bucket& bucket = buckets_[object_key(event.object)];
  if (bucket.updated != system_clock::time_point{}) {
    const double refilled = duration<double>(now - bucket.updated) / duration<double>(kRefill);
    bucket.tokens = std::min<double>(kBurst, bucket.tokens + std::max(0.0, refilled));
  }
  bucket.updated = now;
  if (bucket.tokens < 1) return {Decision::Action::rate_limited, {}, 0};
  bucket.tokens -= 1;

  Decision decision;
  if (const auto found = seen_.find(key_of(event)); found != seen_.end()) {
    decision.action = Decision::Action::patch;
    decision.name = found->second.first.name;
    decision.count = found->second.first.count + 1;
    return decision;
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(duration_cast<nanoseconds>(now.time_since_epoch()).count()));
  decision.name = event.object.name + suffix;
  return decision;
}

void EventCorrelator::sent(const EventRecord& event, const std::string& name, std::int32_t count) {
  const std::string key = key_of(event);
  if (const auto found = seen_.find(key); found != seen_.end()) {
    order_.erase(found->second.second);
    seen_.erase(found);
  }
  order_.push_back(key);
  seen_[key] = {Seen{name, count}, std::prev(order_.end())};
  while (seen_.size() > kMaxRemembered) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
}

void EventCorrelator::forget(const EventRecord& event) {
  if (const auto found = seen_.find(key_of(event)); found != seen_.end()) {
    order_.erase(found->second.second);
    seen_.erase(found);
  }
}

// ---------------------------------------------------------------------------------------------
// EventRecorder

EventRecorder::EventRecorder(std::unique_ptr<HttpTransport> transport, EventRecorderConfig config)
    : transport_(std::move(transport)), config_(std::move(config)) {}

void EventRecorder::record(EventRecord event) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= config_.queue_limit) {
      outcomes_[dropped_queue_full].add();
      return;
    }
    queue_.push_back(std::move(event));
  }
  wakeup_.notify_one();
}

void EventRecorder::stop(steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!stop_deadline_ || deadline < *stop_deadline_) stop_deadline_ = deadline;
  }
  wakeup_.notify_all();
}

void EventRecorder::bound_requests(steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!request_deadline_ || deadline < *request_deadline_) request_deadline_ = deadline;
  }
  wakeup_.notify_all();
}

std::optional<steady_clock::time_point> EventRecorder::deadline_locked() const {
  if (stop_deadline_ && request_deadline_) return std::min(*stop_deadline_, *request_deadline_);
  return stop_deadline_ ? stop_deadline_ : request_deadline_;
}

bool EventRecorder::pause(milliseconds delay) {
  std::unique_lock lock(mutex_);
  auto until = steady_clock::now() + delay;
  if (const auto deadline = deadline_locked(); deadline && *deadline < until) until = *deadline;
  wakeup_.wait_until(lock, until, [&] {
    const auto deadline = deadline_locked();
    return deadline && steady_clock::now() >= *deadline;
  });
  const auto deadline = deadline_locked();
  return !(deadline && steady_clock::now() >= *deadline);
}

void EventRecorder::run() {
  for (;;) {
    EventRecord event;
    {
      std::unique_lock lock(mutex_);
      wakeup_.wait(lock, [&] { return !queue_.empty() || stop_deadline_; });
      const auto deadline = deadline_locked();
      if (deadline && steady_clock::now() >= *deadline) {
        // Out of time: what is left is dropped, as a full queue would drop it.
        outcomes_[failed].add(queue_.size());
        queue_.clear();
      }
      if (queue_.empty()) {
        if (stop_deadline_) return;
        continue;
      }
      event = std::move(queue_.front());
      queue_.pop_front();
    }
    send(event);
  }
}

bool EventRecorder::send(const EventRecord& event) {
  const auto now = system_clock::now();
  auto decision = correlator_.decide(event, now);
  if (decision.action == EventCorrelator::Decision::Action::rate_limited) {
    outcomes_[dropped_rate_limited].add();
    spdlog::debug("event {} on {} {} dropped: too many for one object", event.reason, event.object.kind,
                  event.object.name);
    return false;
  }
  const std::string collection = "/api/v1/namespaces/" + event.object.namespace_name + "/events";
  for (int attempt = 1; attempt <= config_.attempts; ++attempt) {
    auto timeout = config_.request_timeout;
    {
      // Bounded by the shutdown budget (bound_requests) as well as by stop(): a request sent
      // before the stop cannot be interrupted, and the process waits for it before it exits.
      std::lock_guard lock(mutex_);
      if (const auto deadline = deadline_locked())
        timeout = std::min(timeout, duration_cast<milliseconds>(*deadline - steady_clock::now()));
    }
    if (timeout <= milliseconds::zero()) break;
    const bool patch = decision.action == EventCorrelator::Decision::Action::patch;
    const auto result =
        patch ? api_call(*transport_, "PATCH", collection + "/" + decision.name,
                         repeat_patch_json(decision.count, now), "application/strategic-merge-patch+json",
                         timeout, "patch event " + decision.name)
              : api_call(*transport_, "POST", collection,
                         event_json(event, decision.name, now, config_.component, config_.instance),
                         "application/json", timeout, "create event " + decision.name);
    if (result.ok()) {
      correlator_.sent(event, decision.name, decision.count);
      outcomes_[patch ? aggregated : sent].add();
      last_failure_.clear();
      return true;
    }
    const auto& error = result.error();
    if (patch && error.kind == util::ApiErrorKind::not_found) {
      // The Event expired (--event-ttl, an hour by default) or was deleted: a new one.
      correlator_.forget(event);
      decision = correlator_.decide(event, now);
      if (decision.action != EventCorrelator::Decision::Action::create) break;
      --attempt;  // not a failure of the API
      continue;
    }
    // An Unauthorized is retried too: a rotated token file is re-read by the next request.
    const bool retryable =
        error.kind == util::ApiErrorKind::timeout || error.kind == util::ApiErrorKind::network ||
        error.kind == util::ApiErrorKind::server_error ||
        error.kind == util::ApiErrorKind::too_many_requests || error.kind == util::ApiErrorKind::unauthorized;
    const bool last_try = !retryable || attempt == config_.attempts;
    std::string message = error.describe();
    if (error.kind == util::ApiErrorKind::forbidden) {
      message +=
          " (events are optional; to record them add this rule to the Role: {apiGroups: [\"\"], resources: "
          "[\"events\"], verbs: [\"create\", \"patch\"]})";
    }
    if (!last_try) {
      spdlog::debug("recording event {} on {} {} failed, retrying: {}", event.reason, event.object.kind,
                    event.object.name, message);
    } else if (message != last_failure_) {
      // Only when it gives up, and once per distinct failure: Events are optional.
      spdlog::warn("cannot record event {} on {} {}: {}", event.reason, event.object.kind, event.object.name,
                   message);
      last_failure_ = message;
    }
    if (last_try || !pause(config_.retry_delay * (1 << (attempt - 1)))) break;
  }
  outcomes_[failed].add();
  return false;
}

void EventRecorder::write_metrics(util::MetricsText& out) const {
  out.family(
      "lease_elector_events_total", util::MetricsText::Type::counter,
      "Kubernetes Events by outcome: sent (created), aggregated (a repeat: the existing Event's count "
      "patched), dropped_queue_full, dropped_rate_limited (over client-go's per-object budget), failed "
      "(the Events API refused or did not answer). Events never delay the election.");
  constexpr const char* names[] = {"sent", "aggregated", "dropped_queue_full", "dropped_rate_limited",
                                   "failed"};
  for (int i = 0; i < kOutcomes; ++i)
    out.sample("lease_elector_events_total", {{"outcome", names[i]}},
               static_cast<double>(outcomes_[i].value()));
}

}  // namespace le::kube
