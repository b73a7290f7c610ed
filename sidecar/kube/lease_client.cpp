#include "kube/lease_client.h"

#include <exception>

#include <spdlog/spdlog.h>

#include "kube/api_status.h"
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
    const auto content_type = body.empty() ? std::string_view{} : kJson;
    auto answer = transport_->request(method, path, body, content_type, timeout);
    if (auto* failure = std::get_if<TransportError>(&answer)) {
      const auto kind =
          failure->kind == TransportErrorKind::timeout ? ApiErrorKind::timeout : ApiErrorKind::network;
      return ApiError{kind, 0, failure->message, std::nullopt};
    }
    auto& response = std::get<HttpResponse>(answer);
    spdlog::debug("{} lease {}: HTTP {}", method, describe(), response.status);
    if (response.status < 200 || response.status > 299) {
      std::optional<std::string_view> retry_after;
      if (response.retry_after) retry_after = *response.retry_after;
      return parse_status_error(response.status, response.body, retry_after);
    }
    auto lease = parse_lease(response.body);
    if (!lease.ok()) {
      // The write may have been applied even though its answer is unreadable: the elector must
      // treat this like a timeout (outcome_unknown), so keep the status for the log.
      auto error = lease.error();
      error.http_status = response.status;
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
