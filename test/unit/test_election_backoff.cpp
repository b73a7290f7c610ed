// The elector's pacing (election/backoff.h): start-up back-off, client-go's jittered retry, and
// Retry-After capped so that a leader keeps its pace to renew before its deadline.
#include <doctest/doctest.h>

#include <chrono>

#include "election/backoff.h"

using namespace std::chrono_literals;
using le::election::Backoff;

TEST_CASE("before the API server first answers, failures back off exponentially up to a lease duration") {
  Backoff backoff(2s, 1.2, 15s, [] {
    FAIL("no jitter during start-up");
    return 0.0;
  });
  CHECK_FALSE(backoff.contacted());
  CHECK(backoff.after_failure(std::nullopt) == 2s);
  CHECK(backoff.after_failure(std::nullopt) == 4s);
  CHECK(backoff.after_failure(1min) == 8s);  // Retry-After plays no part yet
  CHECK(backoff.after_failure(std::nullopt) == 15s);
  CHECK(backoff.after_failure(std::nullopt) == 15s);
}

TEST_CASE("once contacted, failures wait client-go's jittered retry period") {
  double random = 0.0;
  Backoff backoff(2s, 1.2, 15s, [&] { return random; });
  backoff.note_contact();
  CHECK(backoff.contacted());
  CHECK(backoff.after_failure(std::nullopt) == 2s);
  random = 0.5;
  CHECK(backoff.after_failure(std::nullopt) == 3200ms);
  CHECK(backoff.jittered_retry() == 3200ms);
}

TEST_CASE("Retry-After is honoured only up to the longest jittered wait") {
  double random = 0.0;
  Backoff backoff(2s, 1.2, 15s, [&] { return random; });
  backoff.note_contact();
  CHECK(backoff.after_failure(3s) == 3s);
  CHECK(backoff.after_failure(1min) == 4400ms);  // 2 s x (1 + 1.2)
  random = 0.5;
  CHECK(backoff.after_failure(1s) == 3200ms);  // the jitter is longer
}

TEST_CASE("the spread is a random share of its bound") {
  double random = 0.25;
  Backoff backoff(2s, 1.2, 15s, [&] { return random; });
  CHECK(backoff.spread(4ms) == 1ms);
  random = 0.0;
  CHECK(backoff.spread(4ms) == 0ms);
}
