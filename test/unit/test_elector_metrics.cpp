// What the elector counts for /metrics (election/election_metrics.h), scenario by scenario against
// the in-memory Lease: client-go's slow path, renewals by result, terms, and the time to lead.
#include <doctest/doctest.h>

#include <sstream>

#include "elector_harness.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::LeaderRecord;
using le::election::RenewalResult;
using le::testing::FakeLeaseServer;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::Replica;
using le::testing::ScriptedFault;

namespace {

std::uint64_t renewals(const Replica& r, RenewalResult result) {
  return r.elector.metrics().renewals[static_cast<int>(result)].value();
}

std::uint64_t time_to_lead_count(const Replica& r) {
  std::uint64_t total = 0;
  for (const auto count : r.elector.metrics().time_to_lead.read().bucket_counts) total += count;
  return total;
}

}  // namespace

TEST_CASE("the fast path renews without counting the slow path, a failed optimistic update does") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  CHECK(a.elector.metrics().terms_started.value() == 1);
  for (int i = 0; i < 3; ++i) {
    a.clock.advance(2s);
    a.elector.tick();
  }
  CHECK(renewals(a, RenewalResult::success) == 3);
  CHECK(a.elector.metrics().slowpath.value() == 0);

  // A label edit makes the optimistic update fail (409); the re-read finds our record and renews it:
  // client-go's slow path, once.
  server.edit_labels(R"({"team":"ops"})");
  a.clock.advance(2s);
  a.elector.tick();
  CHECK(a.leads());
  CHECK(renewals(a, RenewalResult::conflict) == 1);
  CHECK(renewals(a, RenewalResult::success) == 4);
  CHECK(a.elector.metrics().slowpath.value() == 1);
  CHECK(a.elector.metrics().terms_started.value() == 1);
}

TEST_CASE(
    "--takeover poll reads before every renewal: each one is a slow-path renewal, as in client-go 1.20") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  auto config = le::testing::default_config("a");
  config.read_before_renew = true;
  Replica a(server, config);
  a.elector.tick();
  for (int i = 0; i < 4; ++i) {
    a.clock.advance(2s);
    a.elector.tick();
  }
  CHECK(renewals(a, RenewalResult::success) == 4);
  CHECK(a.elector.metrics().slowpath.value() == 4);
}

TEST_CASE("renewals that time out or fail are counted by result") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  a.store.script({Fault::fail, le::election::ApiErrorKind::timeout, "update"});
  a.clock.advance(2s);
  a.elector.tick();
  a.store.script({Fault::fail, le::election::ApiErrorKind::server_error, "update"});
  a.clock.advance(2s);
  a.elector.tick();
  CHECK(renewals(a, RenewalResult::timeout) == 1);
  CHECK(renewals(a, RenewalResult::error) == 1);
  CHECK(renewals(a, RenewalResult::success) == 0);
}

TEST_CASE("the time to lead runs from seeing the holder's lease expire to the acquire") {
  FakeLeaseServer server;
  server.external_write(held_by("old", 15s, 4));
  Replica b(server, "b");
  b.elector.tick();  // follows "old"
  CHECK_FALSE(b.leads());
  CHECK(time_to_lead_count(b) == 0);
  b.clock.advance(15s);  // "old" expired by b's observation
  b.elector.tick();
  REQUIRE(b.leads());
  CHECK(b.elector.metrics().terms_started.value() == 1);
  CHECK(time_to_lead_count(b) == 1);
  // Seen expired and taken in the same tick: no time passed on the fake clock.
  CHECK(b.elector.metrics().time_to_lead.read().sum_seconds == 0);
}

TEST_CASE("the time to lead of a created Lease includes the waits a missing Lease costs") {
  FakeLeaseServer server;  // no Lease
  Replica a(server, "a");
  nanoseconds elapsed{0};
  while (!a.leads() && elapsed < 60s) {
    const auto delay = a.elector.tick();
    a.clock.advance(delay);
    elapsed += delay;
  }
  REQUIRE(a.leads());
  REQUIRE(time_to_lead_count(a) == 1);
  // At least the wait before the create (one lease duration) plus the wait after it (a renew
  // deadline), both counted from the first 404.
  CHECK(a.elector.metrics().time_to_lead.read().sum_seconds >= 25.0);
  CHECK(a.elector.metrics().time_to_lead.read().sum_seconds <= 30.0);
}

TEST_CASE("the election's families in the exposition text") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  a.elector.tick();
  a.clock.advance(2s);
  a.elector.tick();
  le::util::MetricsText text;
  a.elector.metrics().write(text, "my-lease");
  const std::string& t = text.text();
  CHECK(t.find("leader_election_slowpath_total{name=\"my-lease\"} 0\n") != std::string::npos);
  CHECK(t.find("lease_elector_terms_started_total{lease=\"my-lease\"} 1\n") != std::string::npos);
  CHECK(t.find("lease_elector_renewals_total{lease=\"my-lease\",result=\"success\"} 1\n") !=
        std::string::npos);
  CHECK(t.find("lease_elector_renewals_total{lease=\"my-lease\",result=\"timeout\"} 0\n") !=
        std::string::npos);
  CHECK(t.find("# TYPE lease_elector_time_to_lead_seconds histogram\n") != std::string::npos);
  CHECK(t.find("lease_elector_time_to_lead_seconds_bucket{lease=\"my-lease\",le=\"0.001\"} 1\n") !=
        std::string::npos);
  CHECK(t.find("lease_elector_time_to_lead_seconds_bucket{lease=\"my-lease\",le=\"+Inf\"} 1\n") !=
        std::string::npos);
  CHECK(t.find("lease_elector_time_to_lead_seconds_count{lease=\"my-lease\"} 1\n") != std::string::npos);
}
