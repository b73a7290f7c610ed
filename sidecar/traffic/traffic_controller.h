#pragma once
// The routing state machine: follows the election's published snapshot and drives a TrafficMode.
// Leading: the routing term of the snapshot's election term (a string unique to it), then
// TrafficMode::lead until it succeeds, then again every check period (the stray check). Not leading, or
// stopping: TrafficMode::follow until it succeeds once, so a Pod this replica marked (in this process or
// a previous container of the same Pod) is unmarked. Failures are logged, a 403 with the Role rule
// to add, and retried with backoff. Pure: no thread, no sleep; traffic_loop.h runs it.
//
// The routing term is tied to the election term, not to "no snapshot without leadership seen
// since": a read inside TrafficMode::lead lasts as long as the request timeout, and the routing thread
// may not run for a while, so a whole term of another leader can pass unseen between two looks at
// the snapshot. A write sent in that other term may still be in a queue, built on a Pod this
// replica fenced in its previous term; only a fence written in the new term makes it fail. So a new
// election term always gets a new routing term, and every write checks, right before it is sent,
// that the snapshot still leads in the controller's election term (write_budget).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "election/clock.h"
#include "election/snapshot.h"
#include "traffic/routing_metrics.h"
#include "traffic/traffic_mode.h"

namespace le::traffic {

struct TrafficControllerConfig {
  std::string identity;
  std::string namespace_name;  // for messages
  // Reads, and the cap of every write (a write is further capped to end before the leadership).
  milliseconds request_timeout{5000};
  // While leading and routed: how often to re-check for strays.
  std::chrono::nanoseconds check_period{std::chrono::seconds{2}};
  std::chrono::nanoseconds min_backoff{std::chrono::milliseconds{200}};
  std::chrono::nanoseconds max_backoff{std::chrono::seconds{5}};
  // A write is not started with less leadership left than this.
  milliseconds min_write_time{20};
  // Once shutdown has begun, no request takes longer than this (the election's
  // stopping_request_timeout), so the process exits within its shutdown budget.
  milliseconds stopping_request_timeout{3000};
  // Told of a write or read refused with 403, with the message naming the Role rule to add (a
  // Warning Event). Called on the traffic thread; must return at once.
  std::function<void(const std::string&)> on_forbidden;
};

class TrafficController {
 public:
  TrafficController(TrafficMode& route, const election::SnapshotBoard& board, const election::Clock& clock,
                    TrafficControllerConfig config,
                    std::shared_ptr<RoutingMetrics> metrics = std::make_shared<RoutingMetrics>());

  // One step at the current snapshot. Returns how long it has nothing to do, unless the snapshot
  // changes. `shutdown_deadline`: shutdown has begun and must be over by then (the election's
  // deadline; one budget for the whole process): from this step on, follower behaviour, and no
  // request ends after it.
  std::chrono::nanoseconds step(std::optional<election::BootTime> shutdown_deadline = std::nullopt);

  // Leading, and TrafficMode::lead has succeeded in the current term.
  bool routed() const { return routed_; }
  // Not leading, and TrafficMode::follow has succeeded since.
  bool unrouted() const { return unrouted_; }
  // The routing term ("identity@acquireTime/n"), while leading.
  const std::optional<std::string>& term() const { return term_; }
  // What it counted for /metrics.
  const RoutingMetrics& metrics() const { return *metrics_; }
  // The last failure's log line, for tests.
  const std::string& last_error() const { return last_error_; }

  // What the log says for a failed attempt (a 403 names the rule to add to the Role).
  std::string describe(const Failure& failure) const;

 private:
  std::optional<milliseconds> write_budget() const;
  milliseconds request_timeout() const;
  void begin_term(const election::ElectionSnapshot& snapshot, election::BootTime now);
  void failed(const Attempt& attempt, election::BootTime now);
  // Counts an attempt's writes: all succeeded but a failed write, which is the last one sent.
  void count_writes(const Attempt& attempt);

  TrafficMode& mode_;
  const election::SnapshotBoard& board_;
  const election::Clock& clock_;
  TrafficControllerConfig config_;
  std::shared_ptr<RoutingMetrics> metrics_;
  std::optional<std::string> term_;
  // The election term (ElectionSnapshot::term) term_ belongs to; 0 while not leading.
  std::uint64_t election_term_ = 0;
  bool routed_ = false;
  bool unrouted_ = false;
  std::optional<election::BootTime> shutdown_deadline_;
  election::BootTime next_attempt_{};
  std::chrono::nanoseconds backoff_{0};
  std::string last_error_;
};

}  // namespace le::traffic
