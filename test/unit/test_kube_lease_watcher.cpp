// The Lease watcher against a scripted stream: what it asks for (field selector, resume point,
// bookmarks, server timeout), what it delivers, and how it recovers from 410, errors and drops.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "kube/lease_watcher.h"

using namespace std::chrono_literals;
using le::election::LeaseEvent;
using le::kube::HttpResponse;
using le::kube::LeaseWatcher;
using le::kube::StreamHandler;
using le::kube::TransportError;
using le::kube::TransportErrorKind;
using le::kube::TransportResult;

namespace {

std::string lease_line(const std::string& type, const std::string& rv, const std::string& holder,
                       const std::string& name = "demo") {
  return R"({"type":")" + type + R"(","object":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1",)" +
         R"("metadata":{"name":")" + name + R"(","namespace":"default","uid":"u1","resourceVersion":")" + rv +
         R"("},"spec":{"holderIdentity":")" + holder + R"(","leaseDurationSeconds":15}}})" + "\n";
}

std::string bookmark_line(const std::string& rv) {
  return R"({"type":"BOOKMARK","object":{"kind":"Lease","metadata":{"resourceVersion":")" + rv +
         R"("}}})"
         "\n";
}

const std::string kExpiredLine =
    R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"j("message":"too old resource version: 1 (189)","reason":"Expired","code":410}})j"
    "\n";

// One scripted answer to a watch request.
struct Script {
  int status = 200;
  std::string body;  // streamed for 2xx, else returned as the error body
  bool network_error = false;
};

struct ScriptedStream final : le::kube::StreamingTransport {
  TransportResult stream(std::string_view path, std::chrono::milliseconds timeout,
                         StreamHandler& handler) override {
    Script script;
    {
      std::lock_guard lock(mutex);
      paths.emplace_back(path);
      timeouts.push_back(timeout);
      if (scripts.empty()) {
        if (on_exhausted) on_exhausted();
        return TransportError{TransportErrorKind::network, "no more scripts"};
      }
      script = scripts.front();
      scripts.pop_front();
    }
    if (script.network_error) return TransportError{TransportErrorKind::network, "connection reset"};
    handler.on_open(script.status);
    if (script.status < 200 || script.status > 299) return HttpResponse{script.status, "", {}, script.body};
    // Deliver in awkward pieces, as the network might.
    for (std::size_t at = 0; at < script.body.size(); at += 13) {
      if (!handler.on_data(std::string_view(script.body).substr(at, 13))) break;
    }
    return HttpResponse{200, "application/json", {}, ""};
  }
  std::mutex mutex;
  std::deque<Script> scripts;
  std::vector<std::string> paths;
  std::vector<std::chrono::milliseconds> timeouts;
  std::function<void()> on_exhausted;
};

struct RecordingSink final : le::election::LeaseEventSink {
  void deliver(LeaseEvent event) override {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  }
  std::string resume_version() const override {
    std::lock_guard lock(mutex);
    const bool expired = std::any_of(events.begin(), events.end(),
                                     [](const LeaseEvent& e) { return e.kind == LeaseEvent::Kind::expired; });
    // The election's re-read after an expiry lands while the watcher waits for it: the watcher's
    // first look still finds the old version, a later one the new.
    if (expired && reread_version && looks_after_expiry++ > 0) version = *std::exchange(reread_version, {});
    return version;
  }
  void set_version(std::string v) {
    std::lock_guard lock(mutex);
    version = std::move(v);
  }
  std::vector<LeaseEvent::Kind> kinds() const {
    std::lock_guard lock(mutex);
    std::vector<LeaseEvent::Kind> out;
    for (const auto& e : events) out.push_back(e.kind);
    return out;
  }
  mutable std::mutex mutex;
  std::vector<LeaseEvent> events;
  mutable std::string version;
  // What a read after an expiry moves the version to, if the test wants one.
  mutable std::optional<std::string> reread_version;
  mutable int looks_after_expiry = 0;
};

// What the watcher owns: it forwards to the test's ScriptedStream, which outlives the watcher.
struct Forwarding final : le::kube::StreamingTransport {
  explicit Forwarding(ScriptedStream& target) : target(target) {}
  TransportResult stream(std::string_view path, std::chrono::milliseconds timeout,
                         StreamHandler& handler) override {
    return target.stream(path, timeout, handler);
  }
  ScriptedStream& target;
};

// Runs the watcher until its scripts are used up.
void run_scripts(ScriptedStream& transport_ref, RecordingSink& sink,
                 std::chrono::milliseconds reread_wait = 50ms,
                 std::shared_ptr<le::kube::ApiMetrics> metrics = nullptr) {
  auto transport = std::make_unique<Forwarding>(transport_ref);
  le::kube::WatchTiming timing;
  timing.first_backoff = 1ms;
  timing.max_backoff = 4ms;
  timing.reread_wait = reread_wait;
  timing.min_server_timeout = 300s;
  LeaseWatcher watcher(
      std::move(transport), "default", "demo", sink, [] { return 0.5; }, timing);
  watcher.set_metrics(std::move(metrics));
  transport_ref.on_exhausted = [&] { watcher.stop(); };
  std::thread thread([&] { watcher.run(); });
  thread.join();
}

// A watch restart count from the metrics text.
int restarts(const le::kube::ApiMetrics& metrics, const std::string& reason) {
  le::util::MetricsText text;
  metrics.write(text, "demo");
  const std::string prefix = "lease_elector_watch_restarts_total{lease=\"demo\",reason=\"" + reason + "\"} ";
  const auto at = text.text().find(prefix);
  REQUIRE(at != std::string::npos);
  return std::stoi(text.text().substr(at + prefix.size()));
}

}  // namespace

TEST_CASE("a watch asks for one Lease by field selector, with bookmarks and a server-side timeout") {
  ScriptedStream t;
  t.scripts.push_back({200, lease_line("MODIFIED", "11", "a"), false});
  RecordingSink sink;
  sink.set_version("10");
  run_scripts(t, sink);
  REQUIRE(t.paths.size() >= 1);
  const std::string& first = t.paths[0];
  CHECK(first.starts_with("/apis/coordination.k8s.io/v1/namespaces/default/leases?"));
  CHECK(first.find("fieldSelector=metadata.name%3Ddemo") != std::string::npos);
  CHECK(first.find("allowWatchBookmarks=true") != std::string::npos);
  CHECK(first.find("resourceVersion=10&") != std::string::npos);
  CHECK(first.find("watch=true") != std::string::npos);
  CHECK(first.find("timeoutSeconds=450") != std::string::npos);  // 300 * (1 + 0.5)
  CHECK(t.timeouts[0] > 450s);                                   // the client waits longer than the server
}

TEST_CASE("events are delivered in order and the next stream resumes after the last version seen") {
  ScriptedStream t;
  t.scripts.push_back({200,
                       lease_line("MODIFIED", "11", "a") + lease_line("MODIFIED", "12", "") +
                           lease_line("MODIFIED", "13", "x", "another-lease") + bookmark_line("20"),
                       false});
  t.scripts.push_back({200, lease_line("DELETED", "21", ""), false});
  RecordingSink sink;
  sink.set_version("10");
  run_scripts(t, sink);
  using K = LeaseEvent::Kind;
  const auto kinds = sink.kinds();
  REQUIRE(kinds.size() >= 7);
  CHECK(std::vector<K>(kinds.begin(), kinds.begin() + 7) ==
        std::vector<K>{K::connected, K::changed, K::changed, K::disconnected, K::connected, K::deleted,
                       K::disconnected});
  CHECK(sink.events[1].lease->record.holder_identity == "a");
  CHECK(sink.events[2].lease->resource_version == "12");
  // The second stream resumed from the bookmark, not from the election's older version.
  REQUIRE(t.paths.size() >= 2);
  CHECK(t.paths[1].find("resourceVersion=20&") != std::string::npos);
  // And the third from the DELETED event's version.
  REQUIRE(t.paths.size() >= 3);
  CHECK(t.paths[2].find("resourceVersion=21&") != std::string::npos);
}

TEST_CASE("410 as an ERROR event, or as an HTTP status: the election re-reads, the watch resumes after it") {
  for (const bool as_event : {true, false}) {
    CAPTURE(as_event);
    ScriptedStream t;
    if (as_event) {
      t.scripts.push_back({200, kExpiredLine, false});
    } else {
      t.scripts.push_back({410, R"({"kind":"Status","code":410,"reason":"Gone"})", false});
    }
    t.scripts.push_back({200, lease_line("MODIFIED", "31", "a"), false});
    RecordingSink sink;
    sink.set_version("5");
    // The election answers the expiry with a read that moves its version on, while the watcher
    // waits for it. No thread races the watcher: the read lands at the watcher's second look, and
    // the wait allowed for it is far longer than any stall, so it never gives up first (it stops
    // waiting as soon as the version moves).
    sink.reread_version = "30";
    auto metrics = std::make_shared<le::kube::ApiMetrics>("h");
    run_scripts(t, sink, 60s, metrics);
    CHECK(restarts(*metrics, "expired") == 1);
    const auto kinds = sink.kinds();
    CHECK(std::find(kinds.begin(), kinds.end(), LeaseEvent::Kind::expired) != kinds.end());
    REQUIRE(t.paths.size() >= 2);
    CHECK(t.paths[0].find("resourceVersion=5&") != std::string::npos);
    CHECK(t.paths[1].find("resourceVersion=30&") != std::string::npos);
  }
}

TEST_CASE("after 410, with no newer read in time, the watch starts from the current state") {
  ScriptedStream t;
  t.scripts.push_back({200, kExpiredLine, false});
  t.scripts.push_back({200, lease_line("ADDED", "40", "a"), false});
  RecordingSink sink;
  sink.set_version("5");  // never moves
  run_scripts(t, sink);
  REQUIRE(t.paths.size() >= 2);
  CHECK(t.paths[1].find("resourceVersion=") == std::string::npos);
}

TEST_CASE("errors, drops and garbage end a stream and are retried, and the election is told to poll") {
  ScriptedStream t;
  t.scripts.push_back({403, R"({"kind":"Status","code":403,"reason":"Forbidden","message":"no"})", false});
  t.scripts.push_back({0, "", true});
  t.scripts.push_back({200, "this is not json\n", false});
  t.scripts.push_back({200,
                       R"({"type":"ERROR","object":{"kind":"Status","code":500,"reason":"InternalError"}})"
                       "\n",
                       false});
  t.scripts.push_back({200, lease_line("MODIFIED", "50", "a"), false});
  RecordingSink sink;
  sink.set_version("49");
  auto metrics = std::make_shared<le::kube::ApiMetrics>("h");
  run_scripts(t, sink, 50ms, metrics);
  CHECK(t.paths.size() == 6);  // five scripts and the one that stopped it
  // The four failures, and the last stream, which the server ended as soon as it began.
  CHECK(restarts(*metrics, "error") == 5);
  CHECK(restarts(*metrics, "timeout") == 0);
  CHECK(restarts(*metrics, "expired") == 0);
  using K = LeaseEvent::Kind;
  const auto kinds = sink.kinds();
  // The garbage and the 500 event each opened a stream that then failed; the last delivered.
  CHECK(std::count(kinds.begin(), kinds.end(), K::connected) == 3);
  CHECK(std::count(kinds.begin(), kinds.end(), K::disconnected) == 3);
  CHECK(std::count(kinds.begin(), kinds.end(), K::changed) == 1);
  CHECK(std::count(kinds.begin(), kinds.end(), K::expired) == 0);
}
