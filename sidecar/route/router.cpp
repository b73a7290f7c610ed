#include "route/router.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "util/micro_time.h"

namespace le::route {

using namespace std::chrono;

Router::Router(Route& route, const election::SnapshotBoard& board, const election::Clock& clock,
               RouterConfig config)
    : route_(route), board_(board), clock_(clock), config_(std::move(config)) {}

std::optional<milliseconds> Router::write_budget() const {
  // Checked right before each write, on the snapshot of this instant: the write is sent only
  // while this replica leads, and its timeout ends before the leadership can. The server might
  // still apply it later (a request stuck in a queue); the resourceVersion precondition and the
  // next leader's fencing make such a write fail.
  const auto snapshot = board_.current();
  const auto left = snapshot->valid_for(clock_.boot_now(), clock_.wall_now());
  if (!left) return std::nullopt;
  const auto budget = std::min(duration_cast<milliseconds>(*left), config_.request_timeout);
  if (budget < config_.min_write_time) return std::nullopt;
  return budget;
}

nanoseconds Router::step(bool stopping, milliseconds timeout_cap) {
  const milliseconds request_timeout = std::min(config_.request_timeout, timeout_cap);
  const auto snapshot = board_.current();
  const auto boot_now = clock_.boot_now();
  const bool leading = !stopping && snapshot->is_leader(boot_now, clock_.wall_now());

  if (leading && !term_) {
    // Unique to this term: the fences of two terms must differ even if the clock did not move.
    term_ = config_.identity + "@" + util::format_micro_time(util::to_micro(clock_.wall_now())) + "/" +
            std::to_string(++terms_started_);
    routed_ = false;
    unrouted_ = false;
    next_attempt_ = boot_now;
    backoff_ = nanoseconds::zero();
  } else if (!leading && term_) {
    spdlog::info("route {}: no longer leading (term {}); removing this pod's route", route_.mode(), *term_);
    term_.reset();
    routed_ = false;
    unrouted_ = false;
    next_attempt_ = boot_now;
    backoff_ = nanoseconds::zero();
  }
  if (!leading && unrouted_) return config_.check_period;
  if (boot_now < next_attempt_) return next_attempt_ - boot_now;

  if (leading) {
    const auto attempt = route_.lead(
        *term_, [this] { return write_budget(); }, request_timeout);
    switch (attempt.kind) {
      case Attempt::Kind::done:
        if (!routed_ || attempt.writes > 0) {
          spdlog::info("route {}: traffic goes to this pod (term {}; {} write(s))", route_.mode(), *term_,
                       attempt.writes);
        }
        routed_ = true;
        backoff_ = nanoseconds::zero();
        next_attempt_ = boot_now + config_.check_period;
        break;
      case Attempt::Kind::not_leading:
        // The next step sees the snapshot without leadership and follows instead.
        next_attempt_ = boot_now;
        return milliseconds{1};
      case Attempt::Kind::failed:
        failed(attempt, boot_now);
        break;
    }
  } else {
    const auto attempt = route_.follow(request_timeout);
    if (attempt.kind == Attempt::Kind::failed) {
      failed(attempt, boot_now);
    } else {
      if (attempt.writes > 0) spdlog::info("route {}: traffic no longer goes to this pod", route_.mode());
      unrouted_ = true;
      backoff_ = nanoseconds::zero();
      return config_.check_period;
    }
  }
  return std::max<nanoseconds>(next_attempt_ - clock_.boot_now(), nanoseconds::zero());
}

void Router::failed(const Attempt& attempt, election::BootTime now) {
  backoff_ =
      backoff_ == nanoseconds::zero() ? config_.min_backoff : std::min(backoff_ * 2, config_.max_backoff);
  next_attempt_ = now + backoff_;
  last_error_ = describe(*attempt.failure);
  if (attempt.failure->error.kind == ApiErrorKind::forbidden) {
    spdlog::error("{}; retrying in {}ms", last_error_, duration_cast<milliseconds>(backoff_).count());
  } else {
    spdlog::warn("{}; retrying in {}ms", last_error_, duration_cast<milliseconds>(backoff_).count());
  }
}

std::string Router::describe(const Failure& failure) const {
  std::string text =
      "route " + std::string(route_.mode()) + ": " + failure.action + " failed: " + failure.error.describe();
  if (failure.error.kind == ApiErrorKind::forbidden) {
    // What the operator must do, not just what went wrong.
    text = "route " + std::string(route_.mode()) + ": cannot " + failure.rule.verb + " " +
           failure.rule.resource + " in namespace " + config_.namespace_name +
           ": add this rule to the Role: {apiGroups: [\"" + failure.rule.api_group + "\"], resources: [\"" +
           failure.rule.resource + "\"], verbs: [\"" + failure.rule.verb + "\"]} (mode " +
           std::string(route_.mode()) + " needs " + route_.role_rules() +
           "); the API server said: " + failure.error.describe();
  }
  return text;
}

}  // namespace le::route
