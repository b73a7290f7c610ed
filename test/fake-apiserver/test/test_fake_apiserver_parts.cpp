// The fake API server's building blocks: MicroTime parsing, token file, RBAC, selectors, faults,
// the change-event window, names.
#include <doctest/doctest.h>

#include "faults.h"
#include "micro_time.h"
#include "names.h"
#include "object_store.h"
#include "rbac.h"
#include "selectors.h"
#include "token_auth.h"

using fake::Json;

namespace {
std::string normalized(const std::string& s) {
  auto r = fake::normalize_micro_time(s);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}
std::string error_of(const std::string& s) {
  auto r = fake::normalize_micro_time(s);
  REQUIRE(std::holds_alternative<fake::MicroTimeError>(r));
  return std::get<fake::MicroTimeError>(r).message;
}
}  // namespace

TEST_CASE("MicroTime: exactly six digits, any offset, normalised to UTC") {
  CHECK(normalized("2026-11-24T23:59:00.123456Z") == "2026-11-24T23:59:00.123456Z");
  CHECK(normalized("2021-03-04T00:30:00.000000-01:00") == "2021-03-04T01:30:00.000000Z");
  CHECK(normalized("2021-01-01T00:30:00.000000+01:00") == "2020-12-31T23:30:00.000000Z");
  CHECK(normalized("2024-02-29T23:59:59.999999Z") == "2024-02-29T23:59:59.999999Z");
  CHECK(
      error_of("yesterday") ==
      R"(parsing time "yesterday" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "yesterday" as "2006")");
  CHECK(error_of("2021-03-04T05:06:07Z").find(R"(cannot parse "Z" as ".000000")") != std::string::npos);
  CHECK(error_of("2021-03-04T05:06:07.5Z").find(R"(as ".000000")") != std::string::npos);
  CHECK(error_of("2021-03-04T05:06:07.123456789Z").find(R"(cannot parse "789Z" as "Z07:00")") !=
        std::string::npos);
  CHECK(error_of("2021-13-04T05:06:07.000000Z") ==
        R"(parsing time "2021-13-04T05:06:07.000000Z": month out of range)");
  CHECK(error_of("2021-02-30T05:06:07.000000Z") ==
        R"(parsing time "2021-02-30T05:06:07.000000Z": day out of range)");
  CHECK(error_of("2021-03-04 05:06:07.000000Z").find(R"(as "T")") != std::string::npos);
  CHECK(error_of("2021-03-04T05:06:07.000000Zjunk").find("extra text") != std::string::npos);
}

TEST_CASE("token file: kube-apiserver CSV with quoted groups") {
  auto parsed = fake::TokenAuthenticator::from_csv(
      "# comment\n"
      "t1,alice,uid-1,\"system:masters,devs\"\n"
      "\n"
      "t2, bob ,uid-2\r\n");
  REQUIRE(std::holds_alternative<fake::TokenAuthenticator>(parsed));
  auto& auth = std::get<fake::TokenAuthenticator>(parsed);
  auto alice = auth.authenticate("t1");
  REQUIRE(alice);
  CHECK(alice->name == "alice");
  CHECK(alice->groups == std::vector<std::string>{"system:masters", "devs", "system:authenticated"});
  CHECK(auth.authenticate("t2")->uid == "uid-2");
  CHECK_FALSE(auth.authenticate("t3"));
  CHECK(auth.token_for("alice") == "t1");
  auth.add("t9", {"alice", "uid-1", {}});
  CHECK(auth.revoke("t1"));
  CHECK_FALSE(auth.authenticate("t1"));
  CHECK(auth.authenticate("t9"));

  CHECK(std::holds_alternative<std::string>(fake::TokenAuthenticator::from_csv("only,two\n")));
  CHECK(std::holds_alternative<std::string>(fake::TokenAuthenticator::from_csv("a,b,c,\"unterminated\n")));
}

TEST_CASE("RBAC decisions") {
  const fake::UserInfo elector{"elector", "1", {"system:authenticated"}};
  const fake::UserInfo nobody{"nobody", "2", {"system:authenticated"}};
  const fake::UserInfo admin{"admin", "3", {"system:masters", "system:authenticated"}};
  const fake::UserInfo anonymous{"system:anonymous", "", {"system:unauthenticated"}};

  const auto open = fake::Authorizer::allow_all_authenticated();
  CHECK(open.allowed(nobody, "delete", "leases", "default"));
  CHECK_FALSE(open.allowed(anonymous, "get", "leases", "default"));

  auto parsed = fake::Authorizer::from_json(R"({
    "users": {"elector": {"namespaces": ["default"], "resources": {"leases": ["get","update"], "pods/status": ["patch"]}}},
    "groups": {"viewers": {"resources": {"*": ["list"]}}}})");
  REQUIRE(std::holds_alternative<fake::Authorizer>(parsed));
  const auto& rbac = std::get<fake::Authorizer>(parsed);
  CHECK(rbac.allowed(elector, "get", "leases", "default"));
  CHECK_FALSE(rbac.allowed(elector, "delete", "leases", "default"));
  CHECK_FALSE(rbac.allowed(elector, "get", "leases", "kube-system"));
  CHECK_FALSE(rbac.allowed(elector, "list", "leases", ""));  // cluster scope needs "*"
  CHECK(rbac.allowed(elector, "patch", "pods/status", "default"));
  CHECK_FALSE(rbac.allowed(elector, "patch", "pods", "default"));
  CHECK_FALSE(rbac.allowed(nobody, "get", "leases", "default"));
  CHECK(rbac.allowed(admin, "delete", "leases", "anywhere"));
  CHECK(rbac.allowed({"v", "", {"viewers"}}, "list", "leases", "x"));
  CHECK(std::holds_alternative<std::string>(fake::Authorizer::from_json("{not json")));
}

TEST_CASE("selectors") {
  std::string error;
  const Json obj =
      Json::parse(R"({"metadata":{"name":"a","namespace":"ns","labels":{"app":"x","tier":"db"}}})");
  auto labels = fake::Selector::parse_labels("app=x, tier==db", error);
  REQUIRE(labels);
  CHECK(labels->matches_labels(obj));
  CHECK_FALSE(fake::Selector::parse_labels("app!=x", error)->matches_labels(obj));
  CHECK(fake::Selector::parse_labels("!missing,app", error)->matches_labels(obj));
  auto fields = fake::Selector::parse_fields("metadata.name=a,metadata.namespace=ns", error);
  REQUIRE(fields);
  CHECK(fields->matches_fields(obj));
  CHECK(fields->equals_value("metadata.name") == "a");
  CHECK_FALSE(fake::Selector::parse_fields("spec.x=1", error));
}

TEST_CASE("faults: parsing, defaults for omitted fields, decisions") {
  auto parsed = fake::FaultConfig::from_json(
      Json::parse(R"({"latencyMs": 20, "errorRate": 1, "errorStatus": 503, "retryAfterSeconds": 2})"));
  REQUIRE(std::holds_alternative<fake::FaultConfig>(parsed));
  auto config = std::get<fake::FaultConfig>(parsed);
  CHECK(config.latency == std::chrono::milliseconds(20));
  CHECK(config.drop_rate == 0);
  CHECK(
      std::holds_alternative<std::string>(fake::FaultConfig::from_json(Json::parse(R"({"errorRate": 2})"))));
  CHECK(std::holds_alternative<std::string>(fake::FaultConfig::from_json(Json::parse(R"({"bogus": 1})"))));

  fake::IdGenerator rng(1);
  CHECK(fake::decide_fault(config, false, rng).action == fake::FaultAction::Error);
  CHECK(fake::decide_fault(config, false, rng).delay == std::chrono::milliseconds(20));
  fake::FaultConfig conflicts;
  conflicts.conflict_rate = 1;
  CHECK(fake::decide_fault(conflicts, true, rng).action == fake::FaultAction::Conflict);
  CHECK(fake::decide_fault(conflicts, false, rng).action == fake::FaultAction::Pass);
  fake::FaultConfig drops;
  drops.drop_rate = 1;
  int applied = 0;
  for (int i = 0; i < 200; ++i)
    applied += fake::decide_fault(drops, true, rng).action == fake::FaultAction::DropApplied;
  CHECK(applied > 50);
  CHECK(applied < 150);
  // dropAppliedWrites: exactly the next N writes, reads untouched.
  auto once = fake::FaultConfig::from_json(Json::parse(R"({"dropAppliedWrites": 1})"));
  REQUIRE(std::holds_alternative<fake::FaultConfig>(once));
  auto twice = std::get<fake::FaultConfig>(once);
  CHECK(fake::decide_fault(twice, false, rng).action == fake::FaultAction::Pass);
  CHECK(fake::decide_fault(twice, true, rng).action == fake::FaultAction::DropApplied);
  CHECK(fake::decide_fault(twice, true, rng).action == fake::FaultAction::Pass);
  CHECK(twice.drop_applied_writes == 0);
}

TEST_CASE("faults scoped by object name replace the general ones for that object only") {
  auto parsed = fake::FaultRules::from_json(
      Json::parse(R"({"latencyMs": 5, "byName": {"chaos-1": {"dropRate": 1}, "chaos-2": {}}})"));
  REQUIRE(std::holds_alternative<fake::FaultRules>(parsed));
  auto rules = std::get<fake::FaultRules>(parsed);
  CHECK(rules.for_object("").latency == std::chrono::milliseconds(5));
  CHECK(rules.for_object("chaos-0").latency == std::chrono::milliseconds(5));
  CHECK(rules.for_object("chaos-1").drop_rate == 1);
  CHECK(rules.for_object("chaos-1").latency == std::chrono::milliseconds(0));
  CHECK(rules.for_object("chaos-2").latency == std::chrono::milliseconds(0));
  CHECK(rules.to_json()["byName"]["chaos-1"]["dropRate"] == 1);
  // Without byName the JSON is FaultConfig's, as before.
  CHECK_FALSE(fake::FaultRules{}.to_json().contains("byName"));
  for (const char* bad : {R"({"byName": 1})", R"({"byName": {"a": {"errorRate": 2}}})",
                          R"({"byName": {"a": {"byName": {}}}})", R"({"bogus": 1})"}) {
    CHECK(std::holds_alternative<std::string>(fake::FaultRules::from_json(Json::parse(bad))));
  }
}

TEST_CASE("the change-event window answers too-old resourceVersions with nullopt") {
  fake::ObjectStore store(2);
  for (const char* name : {"a", "b", "c"}) {
    store.write("leases", Json{{"metadata", {{"name", name}, {"namespace", "default"}}}},
                fake::EventType::Added);
  }
  CHECK_FALSE(store.events_since(0).has_value());
  REQUIRE(store.events_since(1).has_value());
  CHECK(store.events_since(1)->size() == 2);
  store.erase("leases", "default", "a");
  const auto events = store.events_since(3);
  REQUIRE(events);
  CHECK(events->front().type == fake::EventType::Deleted);
  CHECK(events->front().object["metadata"]["resourceVersion"] == "4");
}

TEST_CASE("DNS-1123 names") {
  CHECK(fake::dns1123_subdomain_errors("my-lease.example").empty());
  CHECK_FALSE(fake::dns1123_subdomain_errors("Bad_Name").empty());
  CHECK_FALSE(fake::dns1123_subdomain_errors("a..b").empty());
  CHECK(fake::dns1123_label_errors("default").empty());
  CHECK_FALSE(fake::dns1123_label_errors("Bad_NS").empty());
  CHECK_FALSE(fake::dns1123_label_errors(std::string(64, 'a')).empty());
}
