#pragma once
// What the election tells operators about, beyond logs and metrics: the moments client-go records
// as Events (a term begins, leadership ends) and the conditions someone must act on. The Elector
// calls a NoticeSink on its own thread; the sink must return at once (kube/election_events.h
// queues a Kubernetes Event).
#include <functional>
#include <string>

namespace le::election {

struct ElectionNotice {
  enum class Kind {
    became_leader,
    stopped_leading,
    // Another writer replaced this replica's record while its term was still valid: something
    // writes the Lease without waiting for it to expire.
    lease_taken,
    // Several renewals in a row failed; the leader steps down at its renew deadline.
    renew_failing,
    // The API server refused a Lease request (403): the Role lacks a rule.
    forbidden,
  };
  Kind kind = Kind::became_leader;
  // The Lease object as last seen, for the Event's involvedObject ("" when unknown).
  std::string lease_uid;
  std::string lease_resource_version;
  // For the warnings: what happened, in words (the new holder, the last error, the rule to add).
  std::string detail;
};

using NoticeSink = std::function<void(const ElectionNotice&)>;

}  // namespace le::election
