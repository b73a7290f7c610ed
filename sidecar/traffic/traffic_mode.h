#pragma once
// One routing mode: how this replica makes Service traffic reach its Pod only while it leads.
// A TrafficMode does the API calls of one attempt; the TrafficController (traffic_controller.h) decides when
// to make them, from the election's snapshot, and retries with backoff.
//
// The safety protocol every mode follows (a deposed leader's delayed write must fail, never undo
// the new leader's):
// - a write that routes traffic to this Pod is built on the resourceVersion just read and carries
//   it as a precondition, and is sent only if this replica still leads at that moment, in the
//   election term the route's term belongs to (the WriteGuard), with a timeout that ends before
//   its leadership could;
// - before it routes to itself, a new leader writes every other Pod of the workload (or the
//   EndpointSlice) with a value unique to its term, which always bumps their resourceVersion, so a
//   write that was read before that can no longer apply.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "traffic/traffic_api.h"

namespace le::traffic {

// nullopt: this replica no longer leads in the term the write is for (it may lead in a later
// term: the route's term is over all the same), abandon the write. Otherwise the longest the write
// may take (it ends before the leadership it relies on).
using WriteGuard = std::function<std::optional<milliseconds>()>;

// The timeout of a request sent now. Asked right before each request: once shutdown has begun it
// shrinks (see TrafficController), also for the requests of an attempt that was under way when it began. Zero
// when no time is left: the API client then fails the request without sending it.
using RequestTimeout = std::function<milliseconds()>;

// The RBAC rule a request needs, for the message that tells the operator what to add.
struct RbacRule {
  std::string api_group;  // "" for the core group
  std::string resource;   // "pods", "pods/status", "endpointslices"
  std::string verb;       // "patch"
};

struct Failure {
  std::string action;  // "patch pod app-1"
  RbacRule rule;
  ApiError error;
};

struct Attempt {
  enum class Kind { done, not_leading, failed };
  Kind kind = Kind::done;
  std::optional<Failure> failure;
  int writes = 0;  // how many writes it sent (for logs and tests)

  static Attempt done_after(int writes) { return {Kind::done, std::nullopt, writes}; }
  static Attempt abandoned(int writes) { return {Kind::not_leading, std::nullopt, writes}; }
  static Attempt failed(Failure failure, int writes) { return {Kind::failed, std::move(failure), writes}; }
};

class TrafficMode {
 public:
  virtual ~TrafficMode() = default;
  virtual std::string_view mode() const = 0;
  // Leading in term `term` (a string unique to this election term): fence the others if not yet
  // done for this term, then route to this Pod if it is not routed already. Writes only what is
  // not yet so, so calling it again every renewal period is the stray check. Every write asks
  // `guard` right before it is sent.
  virtual Attempt lead(const std::string& term, const WriteGuard& guard,
                       const RequestTimeout& read_timeout) = 0;
  // Not leading, or stopping: route nothing to this Pod.
  virtual Attempt follow(const RequestTimeout& timeout) = 0;
  // Every rule this mode needs, for the README and for the message on a 403.
  virtual std::string role_rules() const = 0;
};

// The value the fence writes: who fenced, in which term.
inline constexpr const char* kFencedByAnnotation = "lease-elector.io/fenced-by";

}  // namespace le::traffic
