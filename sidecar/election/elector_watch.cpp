// The elector's side of the Lease watch: events inform the decision, never extend leadership.
#include "election/elector.h"

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;

std::optional<nanoseconds> Elector::on_lease_event(const LeaseEvent& event) {
  const BootTime now = clock_.boot_now();
  std::optional<nanoseconds> plan;
  switch (event.kind) {
    case LeaseEvent::Kind::connected:
      watch_up_ = true;
      if (!config_.read_before_renew && observed_ && !need_read_) plan = plan_after_event(now);
      break;
    case LeaseEvent::Kind::disconnected:
      watch_up_ = false;
      // Back to polling: a follower must not sleep until the holder's expiry on a dead stream.
      if (!holds()) plan = backoff_.jittered_retry();
      break;
    case LeaseEvent::Kind::expired:
      // The stream could not resume; only a read tells what changed meanwhile. The leader's next
      // renewal finds out by itself (a conflict), so it keeps its pace.
      need_read_ = true;
      if (!holds()) plan = nanoseconds{0};
      break;
    case LeaseEvent::Kind::deleted:
      if (event.lease && !last_version_.empty()) {
        const auto order = compare_resource_versions(event.lease->resource_version, last_version_);
        if (order && *order <= 0) break;  // older news than what we know
      }
      if (terms_.ours() || terms_.last_renewal()) lose_leadership("lease " + lease_ + " was deleted");
      if (event.lease) last_version_ = event.lease->resource_version;
      if (!lease_gone_) {
        lease_gone_ = true;
        note_lease_changed_under_us(now, "was deleted");
      }
      need_read_ = true;
      plan = nanoseconds{0};
      break;
    case LeaseEvent::Kind::changed: {
      if (!event.lease) break;
      // Compared with the newest version seen, kept across a 404: a replayed event from before the
      // Lease was deleted must not bring the deleted record back.
      if (!last_version_.empty()) {
        const auto order = compare_resource_versions(event.lease->resource_version, last_version_);
        if (!order) {
          // Versions that cannot be ordered: the event may be older than what we know. The leader
          // ignores it (its conditional renewal finds any newer write); a follower reads.
          if (!holds()) {
            need_read_ = true;
            plan = nanoseconds{0};
          }
          break;
        }
        if (*order <= 0) break;  // our own write's echo, or older news
      }
      backoff_.note_contact();
      logged_missing_ = false;
      // A newer record: if it is not ours, leadership ends here, before anything else.
      observe(*event.lease, now);
      if (terms_.ours()) break;  // e.g. a label edit on our record: the renewal goes on as planned
      need_read_ = false;
      plan = plan_after_event(now);
      break;
    }
  }
  publish();
  return plan;
}

std::optional<nanoseconds> Elector::plan_after_event(BootTime now) {
  if (terms_.ours() || shutdown_.stopping()) return std::nullopt;
  if (const auto wait = follow_live_holder(now)) return wait;
  note_free_seen(now);
  if (const auto wait = wait_out_hold_off(now)) return wait;
  if (const auto wait = wait_before_campaign(now)) return wait;
  // Free (released, or expired): try at once, spread a little so the followers do not all collide.
  return backoff_.spread(config_.acquire_spread);
}

}  // namespace le::election
