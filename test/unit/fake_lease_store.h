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
  // The real API server creates a Lease on a PUT to a missing one, ignoring the resourceVersion
  // (the Lease strategy's AllowCreateOnUpdate); false answers 404 instead.
  bool create_on_update = true;

  // Every change, in order, as a watch would deliver it.
  struct Change {
    bool deleted = false;
    StoredLease lease;  // for a deletion: the last state, with the deletion's version
  };
  std::vector<Change> history;

  StoredLease stored() const {
    return StoredLease{*record, std::to_string(resource_version), "uid-" + std::to_string(uid),
                       "{\"labels\":" + labels + "}"};
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
};

enum class Fault {
  fail,             // answered with an error, nothing applied
  apply_then_lose,  // applied, but the answer is lost (timeout)
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
    auto fault = take_fault("create");
    if (fault && fault->fault == Fault::fail) return error(fault->kind, "scripted");
    if (server_.record) return error(ApiErrorKind::already_exists, "already exists");
    server_.record = record;
    ++server_.uid;
    server_.changed();
    if (after_apply) after_apply("create");
    if (fault) return error(fault->kind, "answer lost");
    return server_.stored();
  }

  Result<StoredLease> update(const StoredLease& base, const LeaderRecord& record,
                             std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    auto fault = take_fault("update");
    if (fault && fault->fault == Fault::fail) return error(fault->kind, "scripted");
    if (!server_.record && !server_.create_on_update) return error(ApiErrorKind::not_found, "not found");
    if (server_.record && base.resource_version != std::to_string(server_.resource_version))
      return error(ApiErrorKind::conflict, "the object has been modified");
    // Like the real server, an update that changes nothing does not bump the version.
    if (!server_.record || *server_.record != record) {
      if (!server_.record) ++server_.uid;  // created by the update
      server_.record = record;
      server_.changed();
    }
    if (after_apply) after_apply("update");
    if (fault) return error(fault->kind, "answer lost");
    return server_.stored();
  }

  std::string describe() const override { return "default/demo"; }

 private:
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

  FakeLeaseServer& server_;
  std::string client_;
  std::deque<ScriptedFault> faults_;
};

}  // namespace le::testing
