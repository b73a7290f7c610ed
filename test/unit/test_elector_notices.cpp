// What the elector tells operators (ElectionNotice, sent on as Kubernetes Events): a term begins,
// leadership ends however it ends, the Lease is taken from a valid term, renewals keep failing, a
// request is forbidden.
#include <doctest/doctest.h>

#include <vector>

#include "elector_harness.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::election::ApiErrorKind;
using le::election::ElectionNotice;
using le::election::LeaderRecord;
using le::testing::FakeLeaseServer;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::Replica;
using Kind = ElectionNotice::Kind;

namespace {

struct Notices {
  std::vector<ElectionNotice> seen;
  void attach(Replica& r) {
    r.elector.set_notice_sink([this](const ElectionNotice& n) { seen.push_back(n); });
  }
  std::vector<Kind> kinds() const {
    std::vector<Kind> out;
    for (const auto& n : seen) out.push_back(n.kind);
    return out;
  }
};

}  // namespace

TEST_CASE("a term begins and ends with one notice each, carrying the Lease's uid") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  Notices notices;
  notices.attach(a);
  a.elector.tick();
  REQUIRE(a.leads());
  for (int i = 0; i < 3; ++i) {  // renewals say nothing
    a.clock.advance(2s);
    a.elector.tick();
  }
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader});
  CHECK(notices.seen[0].lease_uid == server.stored().uid);
  a.elector.begin_stopping(a.clock.boot_now() + 10s);
  CHECK_FALSE(a.leads());
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader, Kind::stopped_leading});
}

TEST_CASE("a record written over a valid term warns that the Lease was taken, a normal takeover does not") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  Notices notices;
  notices.attach(a);
  a.elector.tick();
  REQUIRE(a.leads());
  server.external_write(held_by("intruder", 15s, 9));  // someone who did not wait for expiry
  a.clock.advance(2s);
  a.elector.tick();
  CHECK_FALSE(a.leads());
  // It steps down first (the conflict), then the read shows who wrote over its valid term.
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader, Kind::stopped_leading, Kind::lease_taken});
  REQUIRE(notices.seen.size() == 3);
  CHECK(notices.seen[2].detail.find("\"intruder\"") != std::string::npos);

  // b takes the Lease only after a's term is over: no warning on a's side.
  FakeLeaseServer server2;
  server2.external_write(held_by(""));
  Replica c(server2, "c");
  Notices quiet;
  quiet.attach(c);
  c.elector.tick();
  c.store.script({Fault::fail, ApiErrorKind::server_error, "update"});
  for (int i = 0; i < 6; ++i) c.store.script({Fault::fail, ApiErrorKind::server_error, ""});
  c.clock.advance(11s);  // past the renew deadline without a renewal
  c.elector.tick();
  CHECK_FALSE(c.leads());
  c.store.clear_faults();
  server2.external_write(held_by("b", 15s, 2));
  c.clock.advance(5s);
  c.elector.tick();
  for (const auto kind : quiet.kinds()) CHECK(kind != Kind::lease_taken);
}

TEST_CASE("three renewals failing in a row are reported once, a success starts the count again") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  Notices notices;
  notices.attach(a);
  a.elector.tick();
  const auto fail_renewals = [&](int n) {
    for (int i = 0; i < n; ++i) {
      a.store.script({Fault::fail, ApiErrorKind::timeout, "update"});
      a.clock.advance(500ms);
      a.elector.tick();
    }
  };
  fail_renewals(2);
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader});
  fail_renewals(2);
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader, Kind::renew_failing});
  CHECK(notices.seen[1].detail.find("3 renewals of lease default/demo failed in a row") != std::string::npos);
  a.clock.advance(500ms);
  a.elector.tick();  // a success
  REQUIRE(a.leads());
  fail_renewals(2);
  CHECK(notices.kinds().size() == 2);
  fail_renewals(1);
  CHECK(notices.kinds().size() == 3);
}

TEST_CASE("a 403 on the Lease is reported with the rules the Role needs") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  Notices notices;
  notices.attach(a);
  a.store.script({Fault::fail, ApiErrorKind::forbidden, "get"});
  a.elector.tick();
  REQUIRE(notices.kinds() == std::vector<Kind>{Kind::forbidden});
  CHECK(notices.seen[0].detail.find("get, update, list and watch on leases") != std::string::npos);
}

TEST_CASE("leadership that begins by time alone is announced by refresh(), without a request") {
  FakeLeaseServer server;  // no Lease: the replica creates it and leads a renew deadline later
  Replica a(server, "a");
  Notices notices;
  notices.attach(a);
  nanoseconds elapsed{0};
  while (!a.elector.leads_from() && elapsed < 60s) {
    const auto delay = a.elector.tick();
    a.clock.advance(delay);
    elapsed += delay;
  }
  REQUIRE(a.elector.leads_from());
  // Renewals keep the Lease held until just before the wait ends; then time alone passes.
  while (a.clock.boot_now() + 2s < *a.elector.leads_from()) {
    a.elector.tick();
    a.clock.advance(2s);
  }
  a.elector.tick();
  CHECK(notices.seen.empty());
  a.clock.advance(*a.elector.leads_from() - a.clock.boot_now());
  const int requests = a.store.requests;
  a.elector.refresh();
  CHECK(a.leads());
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader});
  CHECK(a.store.requests == requests);
}

TEST_CASE("an outage fails the reads a renewal needs: they count as failed renewals too") {
  FakeLeaseServer server;
  server.external_write(held_by(""));
  Replica a(server, "a");
  Notices notices;
  notices.attach(a);
  a.elector.tick();
  REQUIRE(a.leads());
  // The renewal's update times out; from then on every request does (the API server is gone).
  for (int i = 0; i < 4; ++i) a.store.script({Fault::fail, ApiErrorKind::timeout, ""});
  for (int i = 0; i < 3; ++i) {
    a.clock.advance(500ms);
    a.elector.tick();
  }
  CHECK(notices.kinds() == std::vector<Kind>{Kind::became_leader, Kind::renew_failing});
  CHECK(a.elector.metrics().renewals[static_cast<int>(le::election::RenewalResult::timeout)].value() == 3);
}
