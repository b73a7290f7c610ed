// The split-brain checker must convict a history in which two replicas led at once, by either rule,
// and must not convict a clean hand-over.
#include <doctest/doctest.h>

#include "checker.h"

using le::chaos::check;
using le::chaos::CheckOptions;
using le::chaos::History;
using le::chaos::Nanos;
using le::chaos::Sample;
using le::chaos::Term;

namespace {

constexpr Nanos ms = 1'000'000;

// Replica 0 leads from 0 to 1000 ms (validUntil always 300 ms ahead) and says false from 1010 ms
// on (it stepped down), replica 1 leads from 1505 ms on: a clean hand-over, leaderless for 495 ms.
History clean_handover() {
  History h;
  h.begin_wall = 0;
  h.end_wall = 3000 * ms;
  for (Nanos t = 0; t < 3000 * ms; t += 10 * ms) {
    const bool zero_leads = t <= 1000 * ms;
    const bool one_leads = t >= 1500 * ms;
    h.samples.push_back({0, t, t + ms, zero_leads, zero_leads ? t + 300 * ms : 0});
    h.samples.push_back({1, t + 5 * ms, t + 6 * ms, one_leads, one_leads ? t + 5 * ms + 300 * ms : 0});
  }
  h.terms = {{0, 0, 1300 * ms}, {1, 1500 * ms, 3300 * ms}};
  return h;
}

}  // namespace

TEST_CASE("a clean hand-over is one transition with no split brain") {
  const auto report = check(clean_handover(), CheckOptions{1000 * ms});
  CHECK(report.split_brains() == 0);
  CHECK(report.transitions == 1);
  CHECK(report.worst_gap == 495 * ms);
  CHECK(report.gaps_over_bound == 0);
  CHECK(report.availability == doctest::Approx(1.0 - 495.0 / 3000.0));
}

TEST_CASE("a true answer inside another replica's promised validUntil is a split brain") {
  auto h = clean_handover();
  // Replica 1 claims leadership at 1100 ms, inside replica 0's promise (until 1300 ms).
  h.samples.push_back({1, 1100 * ms, 1101 * ms, true, 1400 * ms});
  const auto report = check(h, CheckOptions{1000 * ms});
  CHECK(report.sample_conflicts == 1);
  CHECK(report.split_brains() == 1);
  REQUIRE_FALSE(report.details.empty());
}

TEST_CASE("a /readyz answer (no validUntil) inside another's promise is a split brain too") {
  auto h = clean_handover();
  h.samples.push_back({1, 1200 * ms, 1201 * ms, true, 0});
  CHECK(check(h, CheckOptions{1000 * ms}).sample_conflicts == 1);
}

TEST_CASE("a woken leader claiming an expired promise is convicted") {
  auto h = clean_handover();
  // Replica 0, paused and woken at 2000 ms while replica 1 leads, says it still leads.
  h.samples.push_back({0, 2000 * ms, 2001 * ms, true, 2300 * ms});
  CHECK(check(h, CheckOptions{1000 * ms}).sample_conflicts >= 1);
  auto stale = clean_handover();
  stale.samples.push_back({3, 2000 * ms, 2001 * ms, true, 1900 * ms});  // validUntil before the request
  CHECK(check(stale, CheckOptions{1000 * ms}).bogus_claims == 1);
}

TEST_CASE("overlapping self-logged terms are a split brain even when no sample caught it") {
  auto h = clean_handover();
  h.terms.push_back({2, 1200 * ms, 1250 * ms});
  const auto report = check(h, CheckOptions{1000 * ms});
  CHECK(report.sample_conflicts == 0);
  CHECK(report.term_overlaps == 1);
  CHECK(report.split_brains() == 1);
}

TEST_CASE("a replica's own consecutive terms (a restart under the same identity) do not conflict") {
  auto h = clean_handover();
  h.terms.push_back({1, 3000 * ms, 3500 * ms});
  CHECK(check(h, CheckOptions{1000 * ms}).term_overlaps == 0);
}

TEST_CASE("a leaderless gap longer than the bound is counted unless the API server was faulty") {
  auto h = clean_handover();
  CHECK(check(h, CheckOptions{100 * ms}).gaps_over_bound == 1);
  h.api_unhealthy.push_back({1250 * ms, 1400 * ms});
  const auto excused = check(h, CheckOptions{100 * ms});
  CHECK(excused.gaps_over_bound == 0);
  CHECK(excused.worst_gap == 0);
}

TEST_CASE("the summary line names every figure") {
  const auto line = check(clean_handover(), CheckOptions{1000 * ms}).summary_line();
  for (const char* key :
       {"transitions=1", "split_brains=0", "availability=", "worst_gap_ms=", "gap_bound_ms=1000.0"}) {
    CHECK(line.find(key) != std::string::npos);
  }
}
