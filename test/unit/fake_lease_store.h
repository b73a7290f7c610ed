#pragma once
// An in-memory Lease with the API server's concurrency rules (resourceVersion preconditions,
// NotFound, AlreadyExists), shared by several electors, with scripted faults: failures before the
// write, writes applied but answered with a timeout, and writes by third parties.
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "election/lease_store.h"

namespace le::testing {

using election::ApiError;
using election::ApiErrorKind;
using election::LeaderRecord;
using election::Result;
using election::StoredLease;

// The shared state of one Lease on the "server".
struct FakeLeaseServer {
  std::optional<LeaderRecord> record;
  std::string labels = "{}";  // stands in for metadata the elector does not know
  long resource_version = 0;
  long uid = 0;                  // a new one at every creation, as the server's metadata.uid
  std::vector<std::string> log;  // "identity verb" per request, for assertions

  // Every change, in order, as a watch would deliver it.
  struct Change {
    bool deleted = false;
    StoredLease lease;  // for a deletion: the last state, with the deletion's version
  };
  std::vector<Change> history;

  StoredLease stored() const {
    return StoredLease{*record, std::to_string(resource_version), "uid-" + std::to_string(uid)};
  }
  // Bumps the version after a change and records it for watchers.
  void changed() {
    ++resource_version;
    if (record) {
      history.push_back(Change{false, stored()});
    } else if (!history.empty()) {
      Change gone{true, history.back().lease};
      gone.lease.resource_version = std::to_string(resource_version);
      history.push_back(std::move(gone));
    }
  }
  // A write by someone other than the electors under test (kubectl, another client).
  void external_write(const LeaderRecord& r) {
    if (!record) ++uid;
    record = r;
    changed();
  }
  void edit_labels(const std::string& labels_json) {
    labels = labels_json;
    changed();
  }
  void remove() {
    record.reset();
    changed();
  }

  // The server's side of a create and an update, as kube-apiserver answers them.
  Result<StoredLease> apply_create(const LeaderRecord& r) {
    if (record) return error(ApiErrorKind::already_exists, "already exists");
    record = r;
    ++uid;
    changed();
    return stored();
  }
  Result<StoredLease> apply_update(const StoredLease& base, const LeaderRecord& r) {
    // kube-apiserver turns a uid in the body into a UID precondition (rest.DefaultUpdatedObjectInfo):
    // against a missing object, or one created again since, the update fails with 409 Conflict
    // ("StorageError: invalid object ... Precondition failed: UID in precondition"). Only a PUT
    // without a uid creates a missing Lease (AllowCreateOnUpdate); the elector always sends one.
    if (!base.uid.empty() && (!record || base.uid != stored().uid))
      return error(ApiErrorKind::conflict, "StorageError: invalid object, Precondition failed: UID");
    if (record && base.resource_version != std::to_string(resource_version))
      return error(ApiErrorKind::conflict, "the object has been modified");
    // Like the real server, an update that changes nothing does not bump the version.
    if (!record || *record != r) {
      if (!record) ++uid;  // created by the update (no uid in the body)
      record = r;
      changed();
    }
    return stored();
  }
  // Writes whose answer was lost and that the server applies later (a request queued behind a slow
  // etcd, a proxy that retries): the test decides when to run them, or drops them.
  std::vector<std::function<void()>> deferred;
  void run_deferred() {
    auto pending = std::move(deferred);
    deferred.clear();
    for (auto& write : pending) write();
  }

  static ApiError error(ApiErrorKind kind, std::string message) {
    ApiError e;
    e.kind = kind;
    e.message = std::move(message);
    switch (kind) {
      case ApiErrorKind::not_found:
        e.http_status = 404;
        break;
      case ApiErrorKind::conflict:
      case ApiErrorKind::already_exists:
        e.http_status = 409;
        break;
      case ApiErrorKind::server_error:
        e.http_status = 500;
        break;
      case ApiErrorKind::too_many_requests:
        e.http_status = 429;
        break;
      default:
        break;
    }
    return e;
  }
  // `kubectl replace` / `helm upgrade --force` of the chart's `spec: {}` with the current
  // resourceVersion: the same object, its holder blanked, no renewTime.
  void reset_in_place() {
    if (!record) ++uid;
    record = LeaderRecord{};
    changed();
  }
  // `kubectl replace --force`, or delete + apply: a new object (new uid) with the chart's `spec: {}`.
  void recreate_empty() {
    if (record) remove();
    ++uid;
    record = LeaderRecord{};
    changed();
  }
};

enum class Fault {
  fail,             // answered with an error, nothing applied
  apply_then_lose,  // applied, but the answer is lost (timeout)
  lose_then_apply,  // the answer is lost (timeout); the server applies it later, or never (deferred)
  apply_twice,      // applied, then sent again (libcurl resends a request whose reused connection
                    // died before any answer): the answer is the duplicate's
};

struct ScriptedFault {
  Fault fault;
  ApiErrorKind kind = ApiErrorKind::timeout;
  std::string only_verb;  // "", "get", "create", "update"
};

class FakeLeaseStore final : public election::LeaseStore {
 public:
  FakeLeaseStore(FakeLeaseServer& server, std::string client) : server_(server), client_(std::move(client)) {}

  void script(ScriptedFault f) { faults_.push_back(std::move(f)); }
  // Called before each request is served (after faults are decided); tests move clocks here.
  std::function<void(const std::string& verb)> before_request;
  std::function<void(const std::string& verb)> after_apply;
  int requests = 0;
  std::vector<std::chrono::milliseconds> timeouts;  // what the elector allowed each request

  Result<StoredLease> get(std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    auto fault = take_fault("get");
    if (fault) return error(fault->kind, "scripted");
    if (!server_.record)
      return error(ApiErrorKind::not_found, "leases.coordination.k8s.io \"demo\" not found");
    return server_.stored();
  }

  Result<StoredLease> create(const LeaderRecord& record, std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    return serve("create", [&server = server_, record] { return server.apply_create(record); });
  }

  Result<StoredLease> update(const StoredLease& base, const LeaderRecord& record,
                             std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    return serve("update", [&server = server_, base, record] { return server.apply_update(base, record); });
  }

  std::string describe() const override { return "default/demo"; }
  void clear_faults() { faults_.clear(); }

 private:
  Result<StoredLease> serve(const std::string& verb, std::function<Result<StoredLease>()> apply) {
    auto fault = take_fault(verb);
    if (fault && fault->fault == Fault::fail) return error(fault->kind, "scripted");
    if (fault && fault->fault == Fault::lose_then_apply) {
      server_.deferred.push_back([apply] { apply(); });
      return error(fault->kind, "answer lost");
    }
    auto result = apply();
    if (after_apply) after_apply(verb);
    if (fault && fault->fault == Fault::apply_twice) return apply();
    if (fault) return error(fault->kind, "answer lost");
    return result;
  }
  std::optional<ScriptedFault> take_fault(const std::string& verb) {
    ++requests;
    server_.log.push_back(client_ + " " + verb);
    if (before_request) before_request(verb);
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->only_verb.empty() || it->only_verb == verb) {
        auto f = *it;
        faults_.erase(it);
        return f;
      }
    }
    return std::nullopt;
  }
  static ApiError error(ApiErrorKind kind, std::string message) {
    return FakeLeaseServer::error(kind, std::move(message));
  }

  FakeLeaseServer& server_;
  std::string client_;
  std::deque<ScriptedFault> faults_;
};

}  // namespace le::testing
