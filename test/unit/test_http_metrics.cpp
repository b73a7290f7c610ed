// GET /metrics as plain function calls: the text format, its escaping, and what a leader and a
// follower report, with a fake clock.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/metrics_route.h"
#include "http/route_table.h"
#include "http_snapshots.h"
#include "util/metrics_text.h"
#include "util/micro_time.h"

using namespace std::chrono_literals;
using le::election::ElectionSnapshot;
using le::election::SnapshotBoard;
using le::http::MetricsSources;
using le::http::Request;
using le::http::RouteTable;
using le::testing::boot0;
using le::testing::following_snapshot;
using le::testing::leading_snapshot;
using le::testing::wall0;
using le::util::escape_label_value;
using le::util::format_metric_value;
using FakeClock = le::testing::SetClock;

namespace {

MetricsSources sources() {
  MetricsSources sources;
  sources.lease_name = "my-lease";
  sources.version = "1.2.3";
  sources.process_stats = [] {
    le::util::ProcessStats stats;
    stats.cpu_seconds = 1.5;
    stats.resident_bytes = 5 * 1024 * 1024;
    stats.start_time_seconds = 1'779'999'000;
    stats.open_fds = 9;
    return stats;
  };
  return sources;
}

std::string render(const ElectionSnapshot& snapshot, std::chrono::nanoseconds after = 0ns) {
  return le::http::render_metrics(snapshot, boot0 + after, wall0 + after, sources());
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);)
    if (l == line) return true;
  return false;
}

// Every line is a # HELP, a # TYPE, or a sample of the family whose # TYPE came before it, with
// a value the format accepts; what Prometheus's parser checks first.
void check_exposition(const std::string& text) {
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? ([-+]?[0-9.eE+-]+|\+Inf|-Inf|NaN))");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter))");
  std::istringstream lines(text);
  std::string family;
  std::set<std::string> families;
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  for (std::string line; std::getline(lines, line);) {
    INFO("line: " << line);
    std::smatch match;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, match, type)) {
      family = match[1];
      CHECK(families.insert(family).second);  // a family appears once
      continue;
    }
    REQUIRE(std::regex_match(line, match, sample));
    CHECK(match[1] == family);
  }
}

}  // namespace

TEST_CASE("label values: backslash, quote and newline escaped, valid UTF-8 kept") {
  CHECK(escape_label_value("plain-pod-0") == "plain-pod-0");
  CHECK(escape_label_value(R"(a\b"c)") == R"(a\\b\"c)");
  CHECK(escape_label_value("line\nbreak") == "line\\nbreak");
  CHECK(escape_label_value("gr\xC3\xBC\xC3\x9F \xE2\x9C\x93 \xF0\x9F\x98\x80") ==
        "gr\xC3\xBC\xC3\x9F \xE2\x9C\x93 \xF0\x9F\x98\x80");
}

TEST_CASE("label values: bytes that are not UTF-8 become U+FFFD, one per byte") {
  const std::string replacement = "\xEF\xBF\xBD";
  CHECK(escape_label_value("a\xFF"
                           "b") == "a" + replacement + "b");
  CHECK(escape_label_value("\xC3") == replacement);                                      // cut short
  CHECK(escape_label_value("\xC0\x80") == replacement + replacement);                    // overlong NUL
  CHECK(escape_label_value("\xED\xA0\x80") == replacement + replacement + replacement);  // a surrogate
  CHECK(escape_label_value("\xF4\x90\x80\x80") == replacement + replacement + replacement + replacement);
}

TEST_CASE("label values: random bytes never break a sample line") {
  std::mt19937 random(20261203);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 40);
  for (int round = 0; round < 2000; ++round) {
    std::string identity(static_cast<std::size_t>(length(random)), '\0');
    for (auto& c : identity) c = static_cast<char>(byte(random));
    le::util::MetricsText text;
    text.family("x", le::util::MetricsText::Type::gauge, "help");
    text.sample("x", {{"identity", identity}}, 1);
    INFO("round " << round);
    check_exposition(text.text());
  }
}

TEST_CASE("sample values as the format spells them") {
  CHECK(format_metric_value(0) == "0");
  CHECK(format_metric_value(1) == "1");
  CHECK(format_metric_value(1780000000) == "1780000000");
  CHECK(format_metric_value(0.25) == "0.25");
  CHECK(format_metric_value(1.0 / 0.0) == "+Inf");
  CHECK(format_metric_value(-1.0 / 0.0) == "-Inf");
  CHECK(format_metric_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("a leader reports master status 1 with client-go's name label, and its time left") {
  const auto text = render(leading_snapshot(), 4s);
  check_exposition(text);
  CHECK(has_line(text, R"(leader_election_master_status{name="my-lease"} 1)"));
  CHECK(has_line(text, R"(lease_elector_leader{lease="my-lease"} 1)"));
  CHECK(has_line(text, R"(lease_elector_term_remaining_seconds{lease="my-lease"} 6)"));
  CHECK(has_line(text, R"(lease_elector_leading_since_timestamp_seconds{lease="my-lease"} 1779999940)"));
  CHECK(has_line(text, R"(lease_elector_lease_transitions{lease="my-lease"} 3)"));
  CHECK(has_line(text, R"(lease_elector_build_info{version="1.2.3"} 1)"));
  CHECK(has_line(text, "process_cpu_seconds_total 1.5"));
  CHECK(has_line(text, "process_resident_memory_bytes 5242880"));
  CHECK(has_line(text, "process_start_time_seconds 1779999000"));
  CHECK(has_line(text, "process_open_fds 9"));
  CHECK(has_line(text, "# TYPE process_cpu_seconds_total counter"));
  CHECK(text.find("process_max_fds") == std::string::npos);  // not read: left out, not 0
}

TEST_CASE("past its renew deadline a leader reports 0 at once: computed at scrape time") {
  const auto text = render(leading_snapshot(), 10s);
  check_exposition(text);
  CHECK(has_line(text, R"(leader_election_master_status{name="my-lease"} 0)"));
  CHECK(has_line(text, R"(lease_elector_term_remaining_seconds{lease="my-lease"} 0)"));
  CHECK(text.find("lease_elector_leading_since_timestamp_seconds") == std::string::npos);
}

TEST_CASE("a follower and a stopping leader report master status 0") {
  auto text = render(following_snapshot());
  check_exposition(text);
  CHECK(has_line(text, R"(leader_election_master_status{name="my-lease"} 0)"));
  CHECK(has_line(text, R"(lease_elector_leader{lease="my-lease"} 0)"));

  auto stopping = leading_snapshot();
  stopping.stopping = true;
  text = render(stopping);
  CHECK(has_line(text, R"(leader_election_master_status{name="my-lease"} 0)"));

  ElectionSnapshot nothing_seen;  // before the first answer from the API server
  text = render(nothing_seen);
  check_exposition(text);
  CHECK(has_line(text, R"(leader_election_master_status{name="my-lease"} 0)"));
  CHECK(text.find("lease_elector_lease_transitions") == std::string::npos);
}

TEST_CASE("GET /metrics: Prometheus's exact content type, no caching, HEAD too") {
  SnapshotBoard board;
  FakeClock clock;
  clock.boot = boot0 + 1s;
  clock.wall = wall0 + 1s;
  board.publish(std::make_shared<const ElectionSnapshot>(leading_snapshot()));
  RouteTable routes;
  le::http::add_metrics_route(routes, board, clock, sources());

  const auto response = routes.route(Request{"GET", "/metrics", {}});
  CHECK(response.status == 200);
  CHECK(response.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(has_line(response.body, R"(leader_election_master_status{name="my-lease"} 1)"));
  bool no_store = false;
  for (const auto& [name, value] : response.headers)
    no_store |= name == "Cache-Control" && value == "no-store";
  CHECK(no_store);

  // The next scrape reads the snapshot published since.
  board.publish(std::make_shared<const ElectionSnapshot>(following_snapshot()));
  CHECK(has_line(routes.route(Request{"GET", "/metrics", {}}).body,
                 R"(leader_election_master_status{name="my-lease"} 0)"));
  CHECK(routes.route(Request{"HEAD", "/metrics", {}}).status == 200);
}
