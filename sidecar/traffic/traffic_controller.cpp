#include "traffic/traffic_controller.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "util/micro_time.h"

namespace le::traffic {

using namespace std::chrono;

TrafficController::TrafficController(TrafficMode& route, const election::SnapshotBoard& board,
                                     const election::Clock& clock, TrafficControllerConfig config,
                                     std::shared_ptr<RoutingMetrics> metrics)
    : mode_(route),
      board_(board),
      clock_(clock),
      config_(std::move(config)),
      metrics_(metrics ? std::move(metrics) : std::make_shared<RoutingMetrics>()) {}

void TrafficController::count_writes(const Attempt& attempt) {
  int succeeded = attempt.writes;
  // A failure on a read (rule verb "get") comes after writes that all succeeded.
  if (attempt.kind == Attempt::Kind::failed && attempt.failure && attempt.failure->rule.verb != "get" &&
      succeeded > 0) {
    --succeeded;
    metrics_->writes[RoutingMetrics::result_of(attempt.failure->error.kind)].add();
  }
  metrics_->writes[RoutingMetrics::success].add(static_cast<std::uint64_t>(succeeded));
}

std::optional<milliseconds> TrafficController::write_budget() const {
  // Checked right before each write, on the snapshot of this instant: the write is sent only
  // while this replica leads in the election term the controller's term belongs to, and its timeout
  // ends before the leadership can. The server might still apply it later (a request stuck in a
  // queue); the resourceVersion precondition and the next leader's fencing make such a write fail.
  // A later term of this same replica is no excuse: another leader may have come in between, and
  // the fences of the controller's term do not cover what that leader sent (see traffic_controller.h).
  const auto snapshot = board_.current();
  if (!term_ || snapshot->term != election_term_) return std::nullopt;
  const auto left = snapshot->valid_for(clock_.boot_now(), clock_.wall_now());
  if (!left) return std::nullopt;
  const auto budget = std::min(duration_cast<milliseconds>(*left), request_timeout());
  if (budget < config_.min_write_time) return std::nullopt;
  return budget;
}

milliseconds TrafficController::request_timeout() const {
  milliseconds limit = config_.request_timeout;
  // The snapshot says "stopping" from the signal on, before the traffic loop hears of it: this
  // bounds also the requests of a step that was under way then, as the election's are bounded.
  if (shutdown_deadline_ || board_.current()->stopping)
    limit = std::min(limit, config_.stopping_request_timeout);
  if (shutdown_deadline_)
    limit = std::min(limit, floor<milliseconds>(*shutdown_deadline_ - clock_.boot_now()));
  return std::max(limit, milliseconds::zero());
}

void TrafficController::begin_term(const election::ElectionSnapshot& snapshot, election::BootTime now) {
  if (term_) {
    spdlog::info("route {}: election term {} is over (term {}); routing again for election term {}",
                 mode_.mode(), election_term_, *term_, snapshot.term);
  }
  // Unique to this election term, also across processes under the same identity (a restarted
  // container counts its terms from 1 again): the term's acquireTime, as the Lease shows it.
  const auto acquired = snapshot.observed && snapshot.observed->acquire_time
                            ? *snapshot.observed->acquire_time
                            : util::to_micro(clock_.wall_now());
  term_ = config_.identity + "@" + util::format_micro_time(acquired) + "/" + std::to_string(snapshot.term);
  election_term_ = snapshot.term;
  routed_ = false;
  unrouted_ = false;
  next_attempt_ = now;
  backoff_ = nanoseconds::zero();
}

nanoseconds TrafficController::step(std::optional<election::BootTime> shutdown_deadline) {
  if (shutdown_deadline) shutdown_deadline_ = shutdown_deadline;  // shutdown is never undone
  const bool stopping = shutdown_deadline_.has_value();
  const auto snapshot = board_.current();
  const auto boot_now = clock_.boot_now();
  // A snapshot that leads always names its election term (the record is ours); without one there
  // is no term to tie the route's writes to.
  const bool leading = !stopping && snapshot->term != 0 && snapshot->is_leader(boot_now, clock_.wall_now());

  if (leading && (!term_ || snapshot->term != election_term_)) {
    begin_term(*snapshot, boot_now);
  } else if (!leading && term_) {
    spdlog::info("route {}: no longer leading (term {}); removing this pod's route", mode_.mode(), *term_);
    term_.reset();
    election_term_ = 0;
    routed_ = false;
    unrouted_ = false;
    next_attempt_ = boot_now;
    backoff_ = nanoseconds::zero();
  }
  if (!leading && unrouted_) return config_.check_period;
  if (boot_now < next_attempt_) return next_attempt_ - boot_now;

  if (leading) {
    auto attempt = mode_.lead(
        *term_, [this] { return write_budget(); }, [this] { return request_timeout(); });
    count_writes(attempt);
    // What it read may be from the term that ended during the attempt: "nothing to write" then says
    // nothing about the new term, which fences anew.
    if (attempt.kind == Attempt::Kind::done && board_.current()->term != election_term_)
      attempt = Attempt::abandoned(attempt.writes);
    switch (attempt.kind) {
      case Attempt::Kind::done:
        if (!routed_ || attempt.writes > 0) {
          spdlog::info("route {}: traffic goes to this pod (term {}; {} write(s))", mode_.mode(), *term_,
                       attempt.writes);
        }
        routed_ = true;
        backoff_ = nanoseconds::zero();
        next_attempt_ = boot_now + config_.check_period;
        break;
      case Attempt::Kind::not_leading:
        // The next step sees the snapshot without leadership and follows instead, or sees a new
        // election term and begins its routing term. Either way this term's route is over.
        routed_ = false;
        next_attempt_ = boot_now;
        return milliseconds{1};
      case Attempt::Kind::failed:
        failed(attempt, boot_now);
        break;
    }
  } else {
    const auto attempt = mode_.follow([this] { return request_timeout(); });
    count_writes(attempt);
    if (attempt.kind == Attempt::Kind::failed) {
      failed(attempt, boot_now);
    } else {
      if (attempt.writes > 0) spdlog::info("route {}: traffic no longer goes to this pod", mode_.mode());
      unrouted_ = true;
      backoff_ = nanoseconds::zero();
      return config_.check_period;
    }
  }
  return std::max<nanoseconds>(next_attempt_ - clock_.boot_now(), nanoseconds::zero());
}

void TrafficController::failed(const Attempt& attempt, election::BootTime now) {
  backoff_ =
      backoff_ == nanoseconds::zero() ? config_.min_backoff : std::min(backoff_ * 2, config_.max_backoff);
  next_attempt_ = now + backoff_;
  last_error_ = describe(*attempt.failure);
  if (attempt.failure->error.kind == ApiErrorKind::forbidden) {
    if (config_.on_forbidden) config_.on_forbidden(last_error_);
    spdlog::error("{}; retrying in {}ms", last_error_, duration_cast<milliseconds>(backoff_).count());
  } else {
    spdlog::warn("{}; retrying in {}ms", last_error_, duration_cast<milliseconds>(backoff_).count());
  }
}

std::string TrafficController::describe(const Failure& failure) const {
  std::string text =
      "route " + std::string(mode_.mode()) + ": " + failure.action + " failed: " + failure.error.describe();
  if (failure.error.kind == ApiErrorKind::forbidden) {
    // What the operator must do, not just what went wrong.
    text = "route " + std::string(mode_.mode()) + ": cannot " + failure.rule.verb + " " +
           failure.rule.resource + " in namespace " + config_.namespace_name +
           ": add this rule to the Role: {apiGroups: [\"" + failure.rule.api_group + "\"], resources: [\"" +
           failure.rule.resource + "\"], verbs: [\"" + failure.rule.verb + "\"]} (mode " +
           std::string(mode_.mode()) + " needs " + mode_.role_rules() +
           "); the API server said: " + failure.error.describe();
  }
  return text;
}

}  // namespace le::traffic
