#include "kube/lease_client.h"

#include <exception>

#include "kube/api_call.h"
#include "kube/lease_json.h"

namespace le::kube {

using election::StoredLease;
using util::ApiError;
using util::ApiErrorKind;
using util::Result;

namespace {
constexpr std::string_view kJson = "application/json";
}

LeaseClient::LeaseClient(std::unique_ptr<HttpTransport> transport, std::string ns, std::string name)
    : transport_(std::move(transport)),
      namespace_(std::move(ns)),
      name_(std::move(name)),
      collection_path_("/apis/coordination.k8s.io/v1/namespaces/" + namespace_ + "/leases"),
      object_path_(collection_path_ + "/" + name_) {}

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
    return lease;
  } catch (const std::exception& e) {
    // Allocation failures and the like; the contract is that nothing escapes to the elector.
    return ApiError{ApiErrorKind::other, 0, std::string(method) + " lease " + describe() + ": " + e.what(),
                    std::nullopt};
  }
}

}  // namespace le::kube
