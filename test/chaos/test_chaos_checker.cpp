// The split-brain checker must convict a history in which two replicas led at once, by either rule,
// and must not convict a clean hand-over.
#include <doctest/doctest.h>

#include "checker.h"

using le::chaos::Cause;
using le::chaos::check;
using le::chaos::CheckOptions;
using le::chaos::FaultMark;
using le::chaos::History;
using le::chaos::Nanos;
using le::chaos::Report;
using le::chaos::Sample;
using le::chaos::ScaleRule;
using le::chaos::Term;
using le::chaos::Window;

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
       {"transitions=1", "leader_changes=1", "split_brains=0", "availability=", "worst_gap_ms=",
        "gap_bound_ms=1000.0", "worst_holdoff_gap_ms=", "after_expiry=0", "after_lease_rewrite=0",
        "by_cause=(sigterm=0 sigkill=0 sigstop=0 partition=0 latency=0 delete-recreate=0 reset=0 5xx=0 "
        "409-storm=0 token-rotation=0 apiserver-restart=0 none=1)"}) {
    CHECK_MESSAGE(line.find(key) != std::string::npos, key);
  }
}

TEST_CASE("transitions are counted from the terms: a new leader, or the same one after its term ran out") {
  History h;
  h.begin_wall = 0;
  h.end_wall = 10'000 * ms;
  // Replica 0, then replica 0 again after a lapse, then replica 1; the last term starts at the
  // run's end (its shutdown) and is checked but not counted.
  h.terms = {
      {0, 0, 1000 * ms}, {0, 1500 * ms, 2500 * ms}, {1, 3000 * ms, 4000 * ms}, {2, 9000 * ms, 9500 * ms}};
  h.end_boot = 9000 * ms;
  const auto report = check(h, CheckOptions{});
  CHECK(report.transitions == 2);
  CHECK(report.leader_changes == 1);
  CHECK(report.split_brains() == 0);
}

TEST_CASE("each transition is blamed on the most recent fault before it, or on none once it is long over") {
  History h;
  h.begin_wall = 0;
  h.end_wall = 20'000 * ms;
  h.terms = {{0, 0, 1000 * ms},           {1, 1500 * ms, 3000 * ms},  {2, 3500 * ms, 5000 * ms},
             {0, 5500 * ms, 7000 * ms},   {1, 7500 * ms, 9000 * ms},  {2, 9500 * ms, 11000 * ms},
             {0, 11500 * ms, 12000 * ms}, {1, 19000 * ms, 19500 * ms}};
  h.faults = {
      {800 * ms, 900 * ms, Cause::sigkill},            // before the term at 1500, but
      {1200 * ms, 1200 * ms, Cause::token_rotation},   // this one is more recent: blamed
      {3000 * ms, 3000 * ms, Cause::reset},            // the term at 3500
      {5000 * ms, 6000 * ms, Cause::sigstop},          // the term at 5500 (still in force)
      {7000 * ms, 7100 * ms, Cause::delete_recreate},  // the term at 7500
      {7600 * ms, 8000 * ms, Cause::latency},          // began after the term at 7500; blamed for 9500
      {11500 * ms, 11500 * ms, Cause::partition},      // at the very start of the term at 11500: blamed
      // Nothing for the term at 19000: the partition is long over.
  };
  CheckOptions options;
  options.attribution_window = 3000 * ms;
  const auto report = check(h, options);
  CHECK(report.transitions == 7);
  CHECK(report.after(Cause::token_rotation) == 1);
  CHECK(report.after(Cause::sigkill) == 0);
  CHECK(report.after(Cause::reset) == 1);
  CHECK(report.after(Cause::sigstop) == 1);
  CHECK(report.after(Cause::delete_recreate) == 1);
  CHECK(report.after(Cause::latency) == 1);
  CHECK(report.after(Cause::partition) == 1);
  CHECK(report.after(Cause::none) == 1);
  CHECK(report.after_expiry() == 3);
  CHECK(report.after_lease_rewrite() == 2);
  // Without a window, the partition takes the last one too.
  CHECK(check(h, CheckOptions{}).after(Cause::partition) == 2);
}

TEST_CASE("Leases are judged apart: two leaders of two Leases are fine, two of one Lease fail the run") {
  auto a = clean_handover();
  auto b = clean_handover();  // the same replica numbers, leading at the same times: another Lease
  Report total;
  total.add(check(a, CheckOptions{1000 * ms}), "chaos-0");
  total.add(check(b, CheckOptions{1000 * ms}), "chaos-1");
  CHECK(total.split_brains() == 0);
  CHECK(total.transitions == 2);
  CHECK(total.leases == 2);
  CHECK(total.availability == doctest::Approx(1.0 - 495.0 / 3000.0));

  // One Lease of three has a term that overlaps another replica's: the sum convicts and says where.
  auto bad = clean_handover();
  bad.terms.push_back({2, 1200 * ms, 1250 * ms});
  total.add(check(bad, CheckOptions{1000 * ms}), "chaos-2");
  CHECK(total.term_overlaps == 1);
  CHECK(total.split_brains() == 1);
  REQUIRE(total.details.size() == 1);
  CHECK(total.details[0].rfind("chaos-2: ", 0) == 0);

  // And by the outside view: a true answer inside another replica's promise, on a fourth Lease.
  auto claims = clean_handover();
  claims.samples.push_back({1, 1100 * ms, 1101 * ms, true, 1400 * ms});
  total.add(check(claims, CheckOptions{1000 * ms}), "chaos-3");
  CHECK(total.sample_conflicts == 1);
  CHECK(total.split_brains() == 2);
}

TEST_CASE("a gap after the Lease was rewritten is judged against the hold-off bound") {
  auto h = clean_handover();  // leaderless for 495 ms from 1005 ms
  CheckOptions options{400 * ms};
  CHECK(check(h, options).gaps_over_bound == 1);
  options.holdoff_gap_bound = 600 * ms;
  h.holdoff.push_back(Window{900 * ms, 1100 * ms});  // a reset at 900 ms
  const auto report = check(h, options);
  CHECK(report.gaps_over_bound == 0);
  CHECK(report.worst_holdoff_gap == 495 * ms);
  CHECK(report.worst_gap == 0);
  options.holdoff_gap_bound = 450 * ms;
  CHECK(check(h, options).gaps_over_bound == 1);
  // A hold-off window that ended before the gap began excuses nothing.
  h.holdoff = {Window{0, 1000 * ms}};
  options.holdoff_gap_bound = 600 * ms;
  CHECK(check(h, options).gaps_over_bound == 1);
}

TEST_CASE("a run counts at scale only with enough transitions of each kind") {
  Report r;
  r.transitions = 10'000;
  r.by_cause[static_cast<std::size_t>(Cause::sigkill)] = 2000;
  r.by_cause[static_cast<std::size_t>(Cause::latency)] = 1000;
  r.by_cause[static_cast<std::size_t>(Cause::reset)] = 150;
  r.by_cause[static_cast<std::size_t>(Cause::delete_recreate)] = 150;
  r.by_cause[static_cast<std::size_t>(Cause::sigterm)] = 6700;
  CHECK(le::chaos::scale_shortfall(r, ScaleRule{}).empty());
  r.by_cause[static_cast<std::size_t>(Cause::reset)] = 149;
  CHECK(le::chaos::scale_shortfall(r, ScaleRule{}) == "after_lease_rewrite 299<300");
  r.transitions = 9'999;
  r.by_cause[static_cast<std::size_t>(Cause::latency)] = 0;
  CHECK(le::chaos::scale_shortfall(r, ScaleRule{}) ==
        "transitions 9999<10000 after_expiry 2000<3000 after_lease_rewrite 299<300");
}
