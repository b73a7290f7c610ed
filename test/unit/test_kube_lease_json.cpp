#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "kube/lease_json.h"
#include "test_kube_support.h"

using le::election::LeaderRecord;
using le::kube::build_create_body;
using le::kube::build_update_body;
using le::kube::parse_lease;
using le::kube::testing::fixture;
using le::util::ApiErrorKind;
using le::util::format_micro_time;
using le::util::parse_micro_time;
using nlohmann::json;

TEST_CASE("a Lease as the API server returns it parses into a record, its resourceVersion and the raw body") {
  struct Case {
    const char* file;
    const char* resource_version;
    const char* renew_time;
  };
  for (const Case& c : {Case{"02-create.json", "189", "2026-11-24T23:59:00.123456Z"},
                        Case{"04-get.json", "189", "2026-11-24T23:59:00.123456Z"},
                        Case{"05-update.json", "190", "2026-11-24T23:59:02.654321Z"},
                        Case{"16-merge-patch.json", "191", "2026-11-24T23:59:02.654321Z"}}) {
    CAPTURE(c.file);
    const std::string body = fixture(c.file);
    const auto lease = parse_lease(body);
    REQUIRE(lease.ok());
    const auto& record = lease.value().record;
    CHECK(record.holder_identity == "pod-a");
    CHECK(record.has_holder());
    CHECK(record.lease_duration == std::chrono::seconds(15));
    REQUIRE(record.acquire_time);
    CHECK(format_micro_time(*record.acquire_time) == "2026-11-24T23:59:00.123456Z");
    REQUIRE(record.renew_time);
    CHECK(format_micro_time(*record.renew_time) == c.renew_time);
    CHECK(record.lease_transitions == 0);
    CHECK(lease.value().resource_version == c.resource_version);
    CHECK(lease.value().object == nlohmann::ordered_json::parse(body));
  }
}

TEST_CASE("a released Lease without holderIdentity has no holder") {
  const auto lease = parse_lease(fixture("15-release.json"));
  REQUIRE(lease.ok());
  CHECK(lease.value().record.holder_identity.empty());
  CHECK_FALSE(lease.value().record.has_holder());
  CHECK(lease.value().record.lease_duration == std::chrono::seconds(1));
  CHECK(lease.value().resource_version == "193");
}

TEST_CASE("absent and null spec fields read as unset, an empty holder is no holder") {
  const auto lease =
      parse_lease(R"({"kind":"Lease","metadata":{"resourceVersion":"7"},"spec":{"holderIdentity":null,)"
                  R"("leaseDurationSeconds":null,"acquireTime":null}})");
  REQUIRE(lease.ok());
  CHECK(lease.value().record == LeaderRecord{});

  const auto empty_holder =
      parse_lease(R"({"metadata":{"resourceVersion":"7"},"spec":{"holderIdentity":""}})");
  REQUIRE(empty_holder.ok());
  CHECK_FALSE(empty_holder.value().record.has_holder());

  const auto no_spec = parse_lease(R"({"metadata":{"resourceVersion":"7"}})");
  REQUIRE(no_spec.ok());
  CHECK(no_spec.value().record == LeaderRecord{});
}

TEST_CASE("anything that is not a well-formed Lease is a malformed response") {
  for (const char* body : {
           "",
           "{",
           "[]",
           "null",
           R"({"kind":"Status","metadata":{"resourceVersion":"1"}})",
           R"({"spec":{}})",
           R"({"metadata":{"resourceVersion":""}})",
           R"({"metadata":{"resourceVersion":5}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":{"renewTime":"yesterday"}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":{"acquireTime":12}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":{"holderIdentity":3}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":{"leaseDurationSeconds":"15"}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":{"leaseDurationSeconds":1.5}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":{"leaseTransitions":4294967296}})",
           R"({"metadata":{"resourceVersion":"1"},"spec":[]})",
       }) {
    CAPTURE(body);
    const auto lease = parse_lease(body);
    CHECK(lease.is(ApiErrorKind::malformed_response));
  }
  const auto bad_time =
      parse_lease(R"({"metadata":{"resourceVersion":"1"},"spec":{"renewTime":"yesterday"}})");
  CHECK(bad_time.error().message.find("spec.renewTime") != std::string::npos);
}

TEST_CASE("an update keeps everything but the record and carries the base resourceVersion") {
  auto base = parse_lease(fixture("02-create.json"));
  REQUIRE(base.ok());
  LeaderRecord record;
  record.holder_identity = "pod-b";
  record.lease_duration = std::chrono::seconds(20);
  record.acquire_time = parse_micro_time("2026-11-25T01:00:00.000001Z");
  record.renew_time = parse_micro_time("2026-11-25T01:00:05.5Z");
  record.lease_transitions = 1;

  const auto body = build_update_body(base.value(), record);
  REQUIRE(body.ok());
  const json sent = json::parse(body.value());
  const json original = json::parse(fixture("02-create.json"));
  CHECK(sent["apiVersion"] == "coordination.k8s.io/v1");
  CHECK(sent["kind"] == "Lease");
  CHECK(sent["metadata"]["resourceVersion"] == "189");
  CHECK(sent["metadata"]["labels"] == original["metadata"]["labels"]);
  CHECK(sent["metadata"]["annotations"] == original["metadata"]["annotations"]);
  CHECK(sent["metadata"]["uid"] == original["metadata"]["uid"]);
  CHECK(sent["metadata"]["managedFields"] == original["metadata"]["managedFields"]);
  CHECK(sent["spec"] == json{{"holderIdentity", "pod-b"},
                             {"leaseDurationSeconds", 20},
                             {"acquireTime", "2026-11-25T01:00:00.000001Z"},
                             {"renewTime", "2026-11-25T01:00:05.500000Z"},
                             {"leaseTransitions", 1}});

  // What is sent parses back into the same record.
  auto reread = parse_lease(body.value());
  REQUIRE(reread.ok());
  CHECK(reread.value().record == record);
}

TEST_CASE("an update keeps unknown spec and top-level fields and uses the base's resourceVersion") {
  le::kube::LeaseObject base;
  base.resource_version = "42";
  base.object = nlohmann::ordered_json::parse(
      R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"demo","resourceVersion":"41"},)"
      R"("spec":{"holderIdentity":"pod-a","preferredHolder":"pod-c","strategy":"OldestEmulationVersion",)"
      R"("leaseDurationSeconds":15,"acquireTime":"2026-11-24T23:59:00.123456Z"},"status":{"future":true}})");
  LeaderRecord record;
  record.holder_identity = "pod-a";
  record.renew_time = parse_micro_time("2026-11-25T00:00:00Z");
  const auto body = build_update_body(base, record);
  REQUIRE(body.ok());
  const json sent = json::parse(body.value());
  CHECK(sent["metadata"]["resourceVersion"] == "42");
  CHECK(sent["spec"]["preferredHolder"] == "pod-c");
  CHECK(sent["spec"]["strategy"] == "OldestEmulationVersion");
  CHECK(sent["status"]["future"] == true);
  // Record fields that are unset are removed, not left at their old values.
  CHECK_FALSE(sent["spec"].contains("leaseDurationSeconds"));
  CHECK_FALSE(sent["spec"].contains("acquireTime"));
  CHECK(sent["spec"]["renewTime"] == "2026-11-25T00:00:00.000000Z");
  CHECK(sent["spec"]["leaseTransitions"] == 0);
}

TEST_CASE("a release writes holderIdentity as an empty string, as client-go does") {
  auto base = parse_lease(fixture("05-update.json"));
  REQUIRE(base.ok());
  LeaderRecord release = base.value().record;
  release.holder_identity.clear();
  release.lease_duration = std::chrono::seconds(1);
  const auto body = build_update_body(base.value(), release);
  REQUIRE(body.ok());
  CHECK(body.value().find(R"("holderIdentity":"")") != std::string::npos);
  CHECK(json::parse(body.value())["metadata"]["resourceVersion"] == "190");
}

TEST_CASE("an update on a base that is not a JSON object fails without throwing") {
  le::kube::LeaseObject base;
  base.resource_version = "1";
  base.object = "not json";
  CHECK(build_update_body(base, LeaderRecord{}).is(ApiErrorKind::other));
}

TEST_CASE("a create body names the Lease and holds the record") {
  LeaderRecord record;
  record.holder_identity = "pod-a";
  record.lease_duration = std::chrono::seconds(15);
  record.acquire_time = parse_micro_time("2026-11-24T23:59:00.123456Z");
  record.renew_time = record.acquire_time;
  const json sent = json::parse(build_create_body("default", "demo", record));
  CHECK(sent["apiVersion"] == "coordination.k8s.io/v1");
  CHECK(sent["kind"] == "Lease");
  CHECK(sent["metadata"] == json{{"name", "demo"}, {"namespace", "default"}});
  CHECK_FALSE(sent["metadata"].contains("resourceVersion"));
  CHECK(sent["spec"] == json{{"holderIdentity", "pod-a"},
                             {"leaseDurationSeconds", 15},
                             {"acquireTime", "2026-11-24T23:59:00.123456Z"},
                             {"renewTime", "2026-11-24T23:59:00.123456Z"},
                             {"leaseTransitions", 0}});
}

TEST_CASE("the holder's proxy address goes into an annotation with its term, and back only for that term") {
  auto base = parse_lease(fixture("05-update.json"));
  REQUIRE(base.ok());
  CHECK(base.value().record.holder_address.empty());
  LeaderRecord renewal = base.value().record;
  renewal.holder_address = "10.1.2.3:4080";
  const auto body = build_update_body(base.value(), renewal);
  REQUIRE(body.ok());
  const json sent = json::parse(body.value());
  const std::string annotation = sent["metadata"]["annotations"]["lease-elector.io/leader-address"];
  CHECK(json::parse(annotation) == json{{"holderIdentity", "pod-a"},
                                        {"acquireTime", "2026-11-24T23:59:00.123456Z"},
                                        {"address", "10.1.2.3:4080"}});
  // Read back as the server returns it: the same term, so the address.
  json stored = sent;
  stored["metadata"]["resourceVersion"] = "191";
  const auto read = parse_lease(stored.dump());
  REQUIRE(read.ok());
  CHECK(read.value().record.holder_address == "10.1.2.3:4080");
  CHECK(read.value().record == renewal);

  // Another holder kept the annotation it read (a client-go elector's takeover), or the same name
  // began a new term (a re-created Pod): no address for either.
  json taken = stored;
  taken["spec"]["holderIdentity"] = "client-go-pod";
  CHECK(parse_lease(taken.dump()).value().record.holder_address.empty());
  json new_term = stored;
  new_term["spec"]["acquireTime"] = "2026-11-25T00:00:00.000000Z";
  CHECK(parse_lease(new_term.dump()).value().record.holder_address.empty());
  // Anything else written there is ignored, never an error.
  for (const char* text : {"10.1.2.3:4080", "{}", "[1]", R"({"holderIdentity":1})"}) {
    json odd = stored;
    odd["metadata"]["annotations"]["lease-elector.io/leader-address"] = text;
    const auto parsed = parse_lease(odd.dump());
    REQUIRE(parsed.ok());
    CHECK(parsed.value().record.holder_address.empty());
  }

  // A record without an address (a release) takes the annotation away, and the other annotations stay.
  json with_other = stored;
  with_other["metadata"]["annotations"]["team"] = "payments";
  auto other_base = parse_lease(with_other.dump());
  REQUIRE(other_base.ok());
  LeaderRecord release = other_base.value().record;
  release.holder_identity.clear();
  release.holder_address.clear();
  const json released = json::parse(build_update_body(other_base.value(), release).value());
  CHECK_FALSE(released["metadata"]["annotations"].contains("lease-elector.io/leader-address"));
  CHECK(released["metadata"]["annotations"]["team"] == "payments");
  const json created = json::parse(build_create_body("default", "demo", renewal));
  CHECK(created["metadata"]["annotations"].contains("lease-elector.io/leader-address"));
}
