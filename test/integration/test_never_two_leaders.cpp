// The judgement the integration tests pass on every run, tested on synthetic logs: it must convict
// two replicas whose logged terms overlap, however briefly, and acquit a clean hand-over. The lines
// are made by the sidecar's own formatter, so a change of format that the parser no longer reads
// fails here rather than making every verdict vacuous.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "election/leadership_log.h"
#include "never_two_leaders.h"

using namespace std::chrono_literals;
using le::election::BootTime;
using le::election::LeadershipTerm;
using le::testing::judge_terms;
using le::testing::LoggedTerm;
using le::testing::parse_leadership_terms;

namespace {

// One log line as the sidecar writes it at debug level.
std::string line(BootTime start, BootTime until, bool ended = false) {
  return "[2024-05-01 10:00:00.000] [debug] [default/demo replica] " +
         le::election::format_leadership_line(LeadershipTerm{start, until}, ended) + "\n";
}

const BootTime t0{1000s};

// A term from t0 + from, renewed every 200 ms until t0 + last_renewal, with a 1 s renew deadline.
std::string renewed_term(std::chrono::milliseconds from, std::chrono::milliseconds last_renewal) {
  std::string text;
  for (auto sent = from; sent <= last_renewal; sent += 200ms) text += line(t0 + from, t0 + sent + 1s);
  return text;
}

std::vector<LoggedTerm> terms_of(const std::vector<std::string>& logs) {
  std::vector<LoggedTerm> terms;
  for (std::size_t i = 0; i < logs.size(); ++i) {
    const auto found = parse_leadership_terms(logs[i], i);
    terms.insert(terms.end(), found.begin(), found.end());
  }
  return terms;
}

}  // namespace

TEST_CASE("leadership logs: a term is read from its first line to the last end logged") {
  const std::string log = "[info] starting\n" + renewed_term(0ms, 600ms) + line(t0, t0 + 700ms, true) +
                          line(t0 + 5s, t0 + 6s) + "[debug] leadership-term holds start_boot_ns=7";
  const auto terms = parse_leadership_terms(log, 2);
  REQUIRE(terms.size() == 2);  // the unfinished last line is left out
  CHECK(terms[0].replica == 2);
  CHECK(terms[0].start_boot_ns == BootTime(t0).time_since_epoch().count());
  CHECK(terms[0].end_boot_ns == (t0 + 700ms).time_since_epoch().count());  // cut short by the step-down
  CHECK(terms[1].start_boot_ns == (t0 + 5s).time_since_epoch().count());
}

TEST_CASE("leadership logs: two replicas' overlapping terms are convicted, however short the overlap") {
  // replica-0 renews until 2 s (so it may lead until 3 s); replica-1 acquires 1 ms before that.
  const auto overlapping = terms_of({renewed_term(0ms, 2000ms), renewed_term(2999ms, 3400ms)});
  const auto report = judge_terms(overlapping);
  CHECK(report.term_overlaps == 1);
  REQUIRE_FALSE(report.details.empty());
  CHECK(report.details[0].find("replica-0 and replica-1") != std::string::npos);
  // A third replica, leading inside both of their terms: two more.
  CHECK(judge_terms(
            terms_of({renewed_term(0ms, 2000ms), renewed_term(2999ms, 3400ms), renewed_term(2500ms, 2500ms)}))
            .term_overlaps == 3);
}

TEST_CASE("leadership logs: a hand-over and one replica's successive terms are not an overlap") {
  // replica-0 steps down at 2.1 s (SIGTERM), replica-1 acquires at 2.6 s (after the release delay),
  // and later replica-0 leads again, once replica-1's last term has run out.
  const std::string first =
      renewed_term(0ms, 2000ms) + line(t0, t0 + 2100ms, true) + renewed_term(9000ms, 9400ms);
  const std::string second = renewed_term(2600ms, 4000ms) + renewed_term(6000ms, 7000ms);
  const auto terms = terms_of({first, second});
  CHECK(terms.size() == 4);
  CHECK(judge_terms(terms).term_overlaps == 0);
  // The same, one nanosecond too early, is convicted.
  const auto early = terms_of({renewed_term(0ms, 2000ms), line(t0 + 3s - 1ns, t0 + 4s)});
  CHECK(judge_terms(early).term_overlaps == 1);
}
