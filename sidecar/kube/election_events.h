#pragma once
// Turns the election's notices into Kubernetes Events: on the Lease with client-go's type, reason
// and message ("<identity> became leader", "<identity> stopped leading", as LeaseLock.RecordEvent
// writes them), so `kubectl describe lease` shows the same history as for a client-go elector; the
// same on this replica's Pod where its uid is known (POD_UID, from the Downward API: kubectl
// describe matches Events by uid); and Warnings an operator must act on.
#include <string>

#include "election/election_notice.h"
#include "kube/event_recorder.h"

namespace le::kube {

struct EventTargets {
  std::string identity;
  std::string namespace_name;
  std::string lease_name;
  std::string pod_name;  // "" when unknown
  std::string pod_uid;   // "" when unknown: no Pod Events then
};

class ElectionEvents {
 public:
  ElectionEvents(EventRecorder& recorder, EventTargets targets);
  // Thread-safe and quick (it only queues): usable as the Elector's NoticeSink.
  void on_notice(const election::ElectionNotice& notice);
  // A routing write refused with 403 (TrafficController's message names the rule to add).
  void on_routing_forbidden(const std::string& message);

 private:
  ObjectReference lease(const election::ElectionNotice& notice) const;
  ObjectReference pod() const;
  bool pod_known() const { return !targets_.pod_name.empty() && !targets_.pod_uid.empty(); }
  // A Warning on the Pod where it is known, else on the Lease.
  void warn(const election::ElectionNotice& notice, const std::string& reason, const std::string& message);

  EventRecorder& recorder_;
  EventTargets targets_;
};

}  // namespace le::kube
