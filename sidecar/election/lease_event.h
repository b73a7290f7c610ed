#pragma once
// What a watch of the Lease tells the election. The kube layer's LeaseWatcher turns a
// ?watch=true stream into these; the election loop hands them to the Elector on its own thread.
// Safety never depends on them: every write stays conditional on a resourceVersion, so a late,
// lost or reordered event can cost a request or a takeover's speed, never a second leader.
#include <optional>
#include <string>

#include "election/leader_record.h"

namespace le::election {

struct LeaseEvent {
  enum class Kind {
    changed,       // ADDED or MODIFIED: `lease` is the object as the server stored it
    deleted,       // DELETED
    expired,       // 410 Expired/Gone: the watch cannot resume; the Lease must be read again
    connected,     // the stream is open: changes from now on will arrive as events
    disconnected,  // the stream ended or failed: poll until it is back
  };
  Kind kind = Kind::changed;
  std::optional<StoredLease> lease;  // for changed and deleted
  std::string message;               // for logs
};

// Where the watcher delivers events. Thread-safe implementations only: the watcher runs on its
// own thread.
class LeaseEventSink {
 public:
  virtual ~LeaseEventSink() = default;
  virtual void deliver(LeaseEvent event) = 0;
  // The resourceVersion to resume a watch from: the newest version the election has seen, or ""
  // when it has seen none (then the watch starts from the current state).
  virtual std::string resume_version() const = 0;
};

// Orders two resourceVersions. Kubernetes calls them opaque, but every API server backed by etcd
// (and the local one) uses the etcd revision, a decimal integer; anything else is not ordered
// here (nullopt), and the election falls back to reading the Lease.
std::optional<int> compare_resource_versions(const std::string& a, const std::string& b);

}  // namespace le::election
