// Parsing a Lease watch stream: the real server's lines (fixtures 20 and 21), its ERROR event for
// a too-old resourceVersion, bookmarks, and lines split anywhere by the network.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "kube/watch_event.h"

using le::kube::LineSplitter;
using le::kube::parse_watch_event;
using le::kube::WatchEvent;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LEASE_ELECTOR_FIXTURES_DIR) + "/k8s-api-samples/" + name);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  LineSplitter splitter;
  REQUIRE(splitter.append(text));
  std::vector<std::string> lines;
  while (auto line = splitter.next()) lines.push_back(*line);
  return lines;
}

}  // namespace

TEST_CASE("the real server's watch stream: MODIFIED, DELETED, then a BOOKMARK") {
  const auto lines = lines_of(fixture("20-watch-stream.jsonl"));
  REQUIRE(lines.size() == 3);
  const auto modified = parse_watch_event(lines[0]);
  CHECK(modified.type == WatchEvent::Type::modified);
  CHECK(modified.name == "demo");
  CHECK(modified.resource_version == "194");
  REQUIRE(modified.lease);
  CHECK(modified.lease->resource_version == "194");
  CHECK(modified.lease->uid == "afcaa869-8304-4535-a61b-32ece47d41ec");

  const auto deleted = parse_watch_event(lines[1]);
  CHECK(deleted.type == WatchEvent::Type::deleted);
  CHECK(deleted.resource_version == "195");
  REQUIRE(deleted.lease);

  const auto bookmark = parse_watch_event(lines[2]);
  CHECK(bookmark.type == WatchEvent::Type::bookmark);
  CHECK(bookmark.resource_version == "195");
  CHECK_FALSE(bookmark.lease);
}

TEST_CASE("a replay of every Lease: ADDED and MODIFIED of several names") {
  const auto lines = lines_of(fixture("21-watch-too-old.jsonl"));
  REQUIRE(lines.size() > 3);
  int demo = 0;
  for (const auto& line : lines) {
    const auto event = parse_watch_event(line);
    CHECK(event.type != WatchEvent::Type::malformed);
    if (event.name == "demo") ++demo;
  }
  CHECK(demo > 0);
}

TEST_CASE("the ERROR event for a too-old resourceVersion is recognised as 410") {
  const auto event = parse_watch_event(
      R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
      R"j("message":"too old resource version: 1 (189)","reason":"Expired","code":410}})j");
  CHECK(event.type == WatchEvent::Type::error);
  CHECK(event.too_old());
  CHECK(event.reason == "Expired");
  CHECK(event.message == "too old resource version: 1 (189)");

  const auto other = parse_watch_event(
      R"({"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"internal","code":500}})");
  CHECK(other.type == WatchEvent::Type::error);
  CHECK_FALSE(other.too_old());
}

TEST_CASE("malformed lines are reported, never thrown") {
  for (const char* line : {"", "not json", "[]", R"({"type":"MODIFIED"})", R"({"object":{}})",
                           R"({"type":"WHATEVER","object":{}})", R"({"type":"BOOKMARK","object":{}})",
                           R"({"type":"MODIFIED","object":{"kind":"Lease","metadata":{}}})",
                           R"({"type":7,"object":{"metadata":{"name":"x"}}})"}) {
    CAPTURE(line);
    CHECK(parse_watch_event(line).type == WatchEvent::Type::malformed);
  }
}

TEST_CASE("lines split anywhere are put back together") {
  const std::string text = fixture("20-watch-stream.jsonl");
  for (std::size_t piece : {1u, 7u, 100u, 4096u}) {
    CAPTURE(piece);
    LineSplitter splitter;
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < text.size(); at += piece) {
      REQUIRE(splitter.append(std::string_view(text).substr(at, piece)));
      while (auto line = splitter.next()) lines.push_back(*line);
    }
    CHECK(lines == lines_of(text));
  }
}

TEST_CASE("a line longer than the limit is refused") {
  LineSplitter splitter;
  const std::string big(LineSplitter::max_line + 1, 'x');
  CHECK_FALSE(splitter.append(big));
}
