#include "kube/lease_client.h"

#include <exception>

#include "kube/api_call.h"

namespace le::kube {

using election::StoredLease;
using util::ApiError;
using util::ApiErrorKind;
using util::Result;

namespace {
constexpr std::string_view kJson = "application/json";
}

LeaseClient::LeaseClient(std::unique_ptr<HttpTransport> transport, std::string ns, std::string name,
                         std::shared_ptr<LeaseObjectCache> objects)
    : transport_(std::move(transport)),
      namespace_(std::move(ns)),
      name_(std::move(name)),
      collection_path_("/apis/coordination.k8s.io/v1/namespaces/" + namespace_ + "/leases"),
      object_path_(collection_path_ + "/" + name_),
      objects_(objects ? std::move(objects) : std::make_shared<LeaseObjectCache>()) {}

std::string LeaseClient::describe() const { return namespace_ + "/" + name_; }

Result<StoredLease> LeaseClient::get(std::chrono::milliseconds timeout) {
  return exchange("GET", object_path_, {}, timeout);
}

Result<StoredLease> LeaseClient::create(const election::LeaderRecord& record,
                                        std::chrono::milliseconds timeout) {
  return exchange("POST", collection_path_, build_create_body(namespace_, name_, record), timeout);
}

Result<StoredLease> LeaseClient::update(const StoredLease& base, const election::LeaderRecord& record,
                                        std::chrono::milliseconds timeout) {
  // The update stays conditional on base.resource_version and carries base.uid as its UID
  // precondition, because the object it is built on is exactly the one base was read as.
  auto object = objects_->find(base);
  if (!object) {
    // Only a base many versions old is no longer kept, and the server would refuse an update on it
    // with 409 Conflict: answer as it would, without sending, so the elector does what it does on a
    // lost race (a leader steps down at once, then reads).
    return ApiError{ApiErrorKind::conflict, 0,
                    "update of lease " + describe() + ": the object at resourceVersion \"" +
                        base.resource_version + "\" (uid \"" + base.uid +
                        "\") is no longer kept here, so it is stale; the Lease must be read again",
                    std::nullopt};
  }
  return update(*object, record, timeout);
}

Result<StoredLease> LeaseClient::update(const LeaseObject& base, const election::LeaderRecord& record,
                                        std::chrono::milliseconds timeout) {
  auto body = build_update_body(base, record);
  if (!body.ok()) return body.error();
  return exchange("PUT", object_path_, body.value(), timeout);
}

Result<StoredLease> LeaseClient::exchange(std::string_view method, const std::string& path,
                                          std::string_view body, std::chrono::milliseconds timeout) {
  try {
    auto answer = api_call(*transport_, method, path, body, kJson, timeout,
                           std::string(method) + " lease " + describe());
    if (!answer.ok()) return answer.error();
    auto lease = parse_lease(answer.value().body);
    if (!lease.ok()) {
      // The write may have been applied even though its answer is unreadable: the elector must
      // treat this like a timeout (outcome_unknown), so keep the status for the log.
      auto error = lease.error();
      error.http_status = answer.value().status;
      return error;
    }
    objects_->remember(lease.value());
    return StoredLease(std::move(lease.value()));
  } catch (const std::exception& e) {
    // Allocation failures and the like; the contract is that nothing escapes to the elector.
    return ApiError{ApiErrorKind::other, 0, std::string(method) + " lease " + describe() + ": " + e.what(),
                    std::nullopt};
  }
}

}  // namespace le::kube
