#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "kube/lease_client.h"
#include "kube/lease_json.h"
#include "scripted_transport.h"
#include "test_kube_support.h"

using le::election::ApiErrorKind;
using le::election::LeaderRecord;
using le::kube::HttpResponse;
using le::kube::LeaseClient;
using le::kube::TransportError;
using le::kube::TransportErrorKind;
using le::kube::TransportResult;
using le::kube::testing::answer;
using le::kube::testing::fixture;
using le::kube::testing::ScriptedTransport;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  ScriptedTransport* transport;
  LeaseClient client;
  Fixture() : Fixture(std::make_unique<ScriptedTransport>()) {}
  explicit Fixture(std::unique_ptr<ScriptedTransport> owned)
      : transport(owned.get()), client(std::move(owned), "default", "demo") {}
};

constexpr const char* kLeasePath = "/apis/coordination.k8s.io/v1/namespaces/default/leases/demo";

}  // namespace

TEST_CASE("get reads the Lease by name") {
  Fixture f;
  f.transport->answers.push_back(answer(200, fixture("04-get.json")));
  const auto lease = f.client.get(2s);
  REQUIRE(lease.ok());
  CHECK(lease.value().record.holder_identity == "pod-a");
  CHECK(lease.value().resource_version == "189");
  REQUIRE(f.transport->sent.size() == 1);
  CHECK(f.transport->sent[0].method == "GET");
  CHECK(f.transport->sent[0].path == kLeasePath);
  CHECK(f.transport->sent[0].body.empty());
  CHECK(f.transport->sent[0].timeout == 2s);
  CHECK(f.client.describe() == "default/demo");
}

TEST_CASE("create POSTs to the collection, a lost race is already_exists") {
  Fixture f;
  f.transport->answers.push_back(answer(201, fixture("02-create.json")));
  f.transport->answers.push_back(answer(409, fixture("03-create-again.json")));
  LeaderRecord record;
  record.holder_identity = "pod-a";
  record.lease_duration = 15s;
  const auto created = f.client.create(record, 1s);
  REQUIRE(created.ok());
  CHECK(created.value().resource_version == "189");
  CHECK(f.transport->sent[0].method == "POST");
  CHECK(f.transport->sent[0].path == "/apis/coordination.k8s.io/v1/namespaces/default/leases");
  CHECK(f.transport->sent[0].content_type == "application/json");
  const auto body = nlohmann::json::parse(f.transport->sent[0].body);
  CHECK(body["metadata"]["name"] == "demo");
  CHECK(body["metadata"]["namespace"] == "default");
  CHECK(body["spec"]["holderIdentity"] == "pod-a");

  const auto again = f.client.create(record, 1s);
  CHECK(again.is(ApiErrorKind::already_exists));
  CHECK(again.error().http_status == 409);
}

TEST_CASE("update PUTs the base object with the new record, a stale version is a conflict") {
  Fixture f;
  const auto base = le::kube::parse_lease(fixture("04-get.json"));
  REQUIRE(base.ok());
  f.transport->answers.push_back(answer(200, fixture("05-update.json")));
  f.transport->answers.push_back(answer(409, fixture("06-update-stale-rv.json")));
  LeaderRecord record = base.value().record;
  record.renew_time = le::util::parse_micro_time("2026-11-24T23:59:02.654321Z");
  const auto updated = f.client.update(base.value(), record, 1s);
  REQUIRE(updated.ok());
  CHECK(updated.value().resource_version == "190");
  CHECK(updated.value().record == record);
  CHECK(f.transport->sent[0].method == "PUT");
  CHECK(f.transport->sent[0].path == kLeasePath);
  const auto body = nlohmann::json::parse(f.transport->sent[0].body);
  CHECK(body["metadata"]["resourceVersion"] == "189");
  CHECK(body["metadata"]["labels"]["team"] == "a");

  const auto stale = f.client.update(base.value(), record, 1s);
  CHECK(stale.is(ApiErrorKind::conflict));
  CHECK(stale.error().message.find("the object has been modified") != std::string::npos);
}

TEST_CASE("every failure is an ApiError of the right kind, never an exception") {
  Fixture f;
  f.transport->answers.push_back(answer(404, fixture("01-get-missing.json")));
  f.transport->answers.push_back(answer(403, fixture("11-no-token.json")));
  f.transport->answers.push_back(answer(401, fixture("12-bad-token.json")));
  f.transport->answers.push_back(answer(429, "{}", "2"));
  f.transport->answers.push_back(answer(503, "no healthy upstream"));
  f.transport->answers.push_back(TransportError{TransportErrorKind::timeout, "GET https://fake/x: Timeout"});
  f.transport->answers.push_back(TransportError{TransportErrorKind::network, "GET https://fake/x: refused"});
  f.transport->answers.push_back(answer(200, "<html>proxy login</html>"));
  f.transport->answers.push_back(answer(200, fixture("01-get-missing.json")));

  CHECK(f.client.get(1s).is(ApiErrorKind::not_found));
  CHECK(f.client.get(1s).is(ApiErrorKind::forbidden));
  CHECK(f.client.get(1s).is(ApiErrorKind::unauthorized));
  const auto throttled = f.client.get(1s);
  CHECK(throttled.is(ApiErrorKind::too_many_requests));
  CHECK(throttled.error().retry_after == 2s);
  const auto unavailable = f.client.get(1s);
  CHECK(unavailable.is(ApiErrorKind::server_error));
  CHECK(unavailable.error().message == "no healthy upstream");
  const auto timed_out = f.client.get(1s);
  CHECK(timed_out.is(ApiErrorKind::timeout));
  CHECK(timed_out.error().http_status == 0);
  CHECK(timed_out.error().outcome_unknown());
  CHECK(f.client.get(1s).is(ApiErrorKind::network));
  const auto garbage = f.client.get(1s);
  CHECK(garbage.is(ApiErrorKind::malformed_response));
  CHECK(garbage.error().http_status == 200);
  CHECK(garbage.error().outcome_unknown());
  // A 2xx carrying a Status instead of a Lease is not a Lease either.
  CHECK(f.client.get(1s).is(ApiErrorKind::malformed_response));

  f.transport->throw_next = true;
  const auto thrown = f.client.get(1s);
  CHECK(thrown.is(ApiErrorKind::other));
  CHECK(thrown.error().message.find("default/demo") != std::string::npos);
}

TEST_CASE("update of a base whose raw object is not JSON fails without a request") {
  // The object is kept in the store now (LeaseObject), no longer a string in the record: one that
  // is not a JSON object still fails before any request.
  Fixture f;
  le::kube::LeaseObject base;
  base.resource_version = "1";
  base.object = nlohmann::ordered_json::array();
  CHECK(f.client.update(base, LeaderRecord{}, 1s).is(ApiErrorKind::other));
  CHECK(f.transport->sent.empty());
}

TEST_CASE("update of a base this client has not seen fails as a conflict without a request") {
  Fixture f;
  le::election::StoredLease base;
  base.resource_version = "1";
  CHECK(f.client.update(base, LeaderRecord{}, 1s).is(ApiErrorKind::conflict));
  CHECK(f.transport->sent.empty());
}
