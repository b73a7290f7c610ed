#include "kube/election_events.h"

#include <utility>

namespace le::kube {

using election::ElectionNotice;

ElectionEvents::ElectionEvents(EventRecorder& recorder, EventTargets targets)
    : recorder_(recorder), targets_(std::move(targets)) {}

ObjectReference ElectionEvents::lease(const ElectionNotice& notice) const {
  return {"Lease",          "coordination.k8s.io/v1",     targets_.namespace_name, targets_.lease_name,
          notice.lease_uid, notice.lease_resource_version};
}

ObjectReference ElectionEvents::pod() const {
  return {"Pod", "v1", targets_.namespace_name, targets_.pod_name, targets_.pod_uid, ""};
}

void ElectionEvents::on_notice(const ElectionNotice& notice) {
  switch (notice.kind) {
    case ElectionNotice::Kind::became_leader:
    case ElectionNotice::Kind::stopped_leading: {
      // client-go's words exactly (resourcelock.LeaseLock.RecordEvent).
      const std::string message =
          targets_.identity +
          (notice.kind == ElectionNotice::Kind::became_leader ? " became leader" : " stopped leading");
      recorder_.record({lease(notice), false, "LeaderElection", message});
      if (pod_known()) recorder_.record({pod(), false, "LeaderElection", message});
      break;
    }
    case ElectionNotice::Kind::lease_taken:
      // About the Lease itself: it belongs there, where every replica's history is.
      recorder_.record({lease(notice), true, "LeaseTaken", targets_.identity + ": " + notice.detail});
      break;
    case ElectionNotice::Kind::renew_failing:
      warn(notice, "RenewFailing", targets_.identity + ": " + notice.detail);
      break;
    case ElectionNotice::Kind::forbidden:
      warn(notice, "Forbidden", targets_.identity + ": " + notice.detail);
      break;
  }
}

void ElectionEvents::on_routing_forbidden(const std::string& message) {
  ElectionNotice notice;
  notice.kind = ElectionNotice::Kind::forbidden;
  warn(notice, "Forbidden", targets_.identity + ": " + message);
}

void ElectionEvents::warn(const ElectionNotice& notice, const std::string& reason,
                          const std::string& message) {
  recorder_.record({pod_known() ? pod() : lease(notice), true, reason, message});
}

}  // namespace le::kube
