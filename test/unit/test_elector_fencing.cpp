// The fencing token each term publishes: the resourceVersion of the write that started the term,
// or of the first read that showed it; fixed for the term; greater for every later term of the
// Lease, across releases, takeovers, lost answers and a deleted and re-created Lease. A store that
// refuses writes with a token below the highest it has seen is the test's judge of split brain:
// no two terms may share a token, and no later term may have a smaller one.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "elector_harness.h"

using namespace std::chrono_literals;
using le::election::ApiErrorKind;
using le::testing::FakeLeaseServer;
using le::testing::Fault;
using le::testing::held_by;
using le::testing::Replica;

namespace {

std::string token_of(const Replica& r) { return r.board.current()->fencing_token; }

// Runs ticks until `r` leads (at most a minute of its time).
void lead(Replica& r) {
  for (int i = 0; i < 100 && !r.leads(); ++i) r.clock.advance(r.elector.tick());
  REQUIRE(r.leads());
}

}  // namespace

TEST_CASE("the token is the acquiring write's resourceVersion, and renewals keep it") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 1));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  const std::string acquired_at = std::to_string(server.resource_version);
  CHECK(token_of(a) == acquired_at);
  for (int i = 0; i < 5; ++i) {
    a.clock.advance(a.elector.tick());
    a.elector.tick();
  }
  CHECK(std::stol(std::to_string(server.resource_version)) > std::stol(acquired_at));  // renewed
  CHECK(token_of(a) == acquired_at);
}

TEST_CASE("an acquire whose answer was lost: the token of the first read that shows the term") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 1));
  Replica a(server, "a");
  a.store.script({Fault::apply_then_lose, ApiErrorKind::timeout, "update"});
  a.elector.tick();
  REQUIRE_FALSE(a.leads());
  CHECK(token_of(a).empty());
  server.edit_labels(R"({"team":"x"})");  // the read shows the term at a later version
  const std::string read_at = std::to_string(server.resource_version);
  a.clock.advance(2s);
  a.elector.tick();
  REQUIRE(a.leads());
  CHECK(token_of(a) == read_at);
}

TEST_CASE("tokens strictly increase over 100 handovers, releases, expiries and a re-created Lease") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 0));
  // Two replicas; a released one is restarted (a new process: nothing of its terms is remembered).
  std::optional<Replica> replicas[2];
  replicas[0].emplace(server, "a");
  replicas[1].emplace(server, "b");
  std::vector<long> tokens;
  long fence = 0;  // the store the leaders write to: it keeps the highest token it has seen
  for (int round = 0; round < 100; ++round) {
    CAPTURE(round);
    Replica& leader = *replicas[round % 2];
    Replica& next = *replicas[1 - round % 2];
    lead(leader);
    const long token = std::stol(token_of(leader));
    // A fenced store refuses a token below the highest it has seen; a new term's first write must
    // be accepted, so its token is above every earlier term's.
    CHECK(token > fence);
    fence = token;
    tokens.push_back(token);
    // Renewals never change the token.
    leader.clock.advance(leader.elector.tick());
    leader.elector.tick();
    CHECK(token_of(leader) == std::to_string(token));
    switch (round % 3) {
      case 0:  // a release on shutdown, and a restart
        leader.elector.begin_stopping(leader.clock.boot_now() + 25s);
        CHECK(leader.elector.release());
        replicas[round % 2].emplace(server, round % 2 == 0 ? "a" : "b");
        break;
      case 1:  // the leader stops reaching the API server; the other takes over at expiry
        for (int i = 0; i < 50; ++i) leader.store.script({Fault::fail, ApiErrorKind::timeout, ""});
        break;
      case 2:  // the Lease is deleted and created again under the leader
        server.recreate_empty();
        break;
    }
    Replica& old = *replicas[round % 2];
    // The next leader takes it over (after expiry, or the hold-off a re-created Lease calls for);
    // the old one goes on ticking meanwhile.
    for (int i = 0; i < 200 && !next.leads(); ++i) {
      const auto delay = next.elector.tick();
      next.clock.advance(delay);
      old.clock.advance(delay);
      old.elector.tick();
      CHECK_FALSE((next.leads() && old.leads()));
    }
    REQUIRE(next.leads());
    CHECK_FALSE(old.leads());
    old.store.clear_faults();
  }
  REQUIRE(tokens.size() == 100);
  for (std::size_t i = 1; i < tokens.size(); ++i) CHECK(tokens[i] > tokens[i - 1]);
}

TEST_CASE("a leader's proxy address goes with every record it writes as holder, and none with its release") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 1));
  Replica a(server, "a");
  a.elector.set_holder_address("10.1.2.3:4080");
  a.elector.tick();
  REQUIRE(a.leads());
  CHECK(server.record->holder_address == "10.1.2.3:4080");
  a.clock.advance(a.elector.tick());
  a.elector.tick();
  CHECK(server.record->holder_address == "10.1.2.3:4080");
  // Whatever still acts for the term goes first: the hook runs before the release is sent.
  bool hook_ran_while_held = false;
  a.elector.set_before_release([&] {
    hook_ran_while_held = server.record->holder_identity == "a";
    return true;
  });
  REQUIRE(a.elector.release());
  CHECK(hook_ran_while_held);
  CHECK(server.record->holder_identity.empty());
  CHECK(server.record->holder_address.empty());
}

TEST_CASE("a before-release hook that cannot confirm keeps the Lease from being released") {
  FakeLeaseServer server;
  server.external_write(held_by("", 15s, 1));
  Replica a(server, "a");
  a.elector.tick();
  REQUIRE(a.leads());
  a.elector.set_before_release([] { return false; });
  CHECK_FALSE(a.elector.release());
  CHECK(server.record->holder_identity == "a");  // left to expire
}
