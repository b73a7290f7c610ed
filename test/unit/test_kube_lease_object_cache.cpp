// The Lease objects the store keeps so that an update is built on the object its base was read as:
// found by resourceVersion and uid, bounded, fed by the client's answers and by the watch, and a
// missing object fails the update without a request.
#include <doctest/doctest.h>

#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/lease_client.h"
#include "kube/lease_object_cache.h"
#include "kube/lease_watcher.h"
#include "test_kube_support.h"

using le::election::LeaderRecord;
using le::election::LeaseEvent;
using le::election::StoredLease;
using le::kube::HttpResponse;
using le::kube::LeaseClient;
using le::kube::LeaseObject;
using le::kube::LeaseObjectCache;
using le::kube::TransportError;
using le::kube::TransportErrorKind;
using le::kube::TransportResult;
using le::kube::testing::fixture;
using le::util::ApiErrorKind;
using namespace std::chrono_literals;

namespace {

LeaseObject lease_at(const std::string& resource_version, const std::string& uid = "u1") {
  LeaseObject lease;
  lease.resource_version = resource_version;
  lease.uid = uid;
  lease.object = {{"metadata", {{"resourceVersion", resource_version}, {"uid", uid}}}};
  return lease;
}

StoredLease base_at(const std::string& resource_version, const std::string& uid = "u1") {
  return StoredLease{LeaderRecord{}, resource_version, uid};
}

struct SentRequest {
  std::string method, body;
};

// Answers from a script and records what was asked.
struct ScriptedTransport final : le::kube::HttpTransport {
  std::deque<HttpResponse> answers;
  std::vector<SentRequest> sent;
  TransportResult request(std::string_view method, std::string_view, std::string_view body, std::string_view,
                          std::chrono::milliseconds) override {
    sent.push_back({std::string(method), std::string(body)});
    if (answers.empty()) return TransportError{TransportErrorKind::network, "no more answers"};
    auto answer = std::move(answers.front());
    answers.pop_front();
    return answer;
  }
  const std::string& server() const override { return server_; }
  std::string server_ = "https://fake";
};

HttpResponse ok(std::string body) {
  return HttpResponse{200, "application/json", std::nullopt, std::move(body)};
}

// One watch stream carrying `body`; the next request stops the watcher.
struct OneStream final : le::kube::StreamingTransport {
  std::string body;
  std::function<void()> stop;
  int calls = 0;
  TransportResult stream(std::string_view, std::chrono::milliseconds,
                         le::kube::StreamHandler& handler) override {
    if (calls++ > 0) {
      stop();
      return TransportError{TransportErrorKind::network, "done"};
    }
    handler.on_open(200);
    handler.on_data(body);
    return HttpResponse{200, "application/json", std::nullopt, ""};
  }
};

struct RecordingSink final : le::election::LeaseEventSink {
  void deliver(LeaseEvent event) override {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  }
  std::string resume_version() const override { return {}; }
  std::mutex mutex;
  std::vector<LeaseEvent> events;
};

// Runs a watcher over one stream of `lines`, keeping what it sees in `objects`.
std::vector<LeaseEvent> watch(const std::string& lines, std::shared_ptr<LeaseObjectCache> objects) {
  auto stream = std::make_unique<OneStream>();
  stream->body = lines;
  OneStream* raw = stream.get();
  RecordingSink sink;
  le::kube::WatchTiming timing;
  timing.first_backoff = 1ms;
  le::kube::LeaseWatcher watcher(
      std::move(stream), "default", "demo", sink, [] { return 0.5; }, timing, std::move(objects));
  raw->stop = [&] { watcher.stop(); };
  std::thread thread([&] { watcher.run(); });
  thread.join();
  return std::move(sink.events);
}

}  // namespace

TEST_CASE("the cache finds the object of a resourceVersion and uid, and no other") {
  LeaseObjectCache cache;
  cache.remember(lease_at("1"));
  cache.remember(lease_at("2"));
  const auto found = cache.find(base_at("1"));
  REQUIRE(found);
  CHECK(found->resource_version == "1");
  CHECK(found->object["metadata"]["resourceVersion"] == "1");
  CHECK_FALSE(cache.find(base_at("3")));
  // The same version of another incarnation of the Lease (deleted and created again) is not it.
  CHECK_FALSE(cache.find(base_at("1", "u2")));
}

TEST_CASE("the cache keeps at most its capacity, dropping the lowest version") {
  LeaseObjectCache cache(3);
  for (const char* version : {"1", "2", "3", "4", "5"}) cache.remember(lease_at(version));
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find(base_at("1")));
  CHECK_FALSE(cache.find(base_at("2")));
  CHECK(cache.find(base_at("3")));
  CHECK(cache.find(base_at("5")));

  // A replayed older version (a watch resuming from an earlier point) never pushes out a newer
  // one: the lowest version goes, here the replayed one itself.
  cache.remember(lease_at("2"));
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find(base_at("2")));
  CHECK(cache.find(base_at("3")));
  // Seen again (a watch event for the store's own write), a version is kept once.
  cache.remember(lease_at("5"));
  CHECK(cache.size() == 3);
  cache.remember(lease_at("6"));
  CHECK_FALSE(cache.find(base_at("3")));
  CHECK(cache.find(base_at("4")));
  CHECK(cache.find(base_at("6")));
  CHECK(LeaseObjectCache().size() == 0);
  CHECK(LeaseObjectCache::kDefaultCapacity >= 2);
}

TEST_CASE("an update is built on the object get or a previous update returned") {
  auto owned = std::make_unique<ScriptedTransport>();
  auto& transport = *owned;
  LeaseClient client(std::move(owned), "default", "demo");
  transport.answers.push_back(ok(fixture("04-get.json")));
  transport.answers.push_back(ok(fixture("05-update.json")));
  transport.answers.push_back(ok(fixture("16-merge-patch.json")));

  const auto read = client.get(1s);
  REQUIRE(read.ok());
  LeaderRecord record = read.value().record;
  record.renew_time = le::util::parse_micro_time("2026-11-24T23:59:02.654321Z");
  const auto written = client.update(read.value(), record, 1s);
  REQUIRE(written.ok());
  const auto body = nlohmann::json::parse(transport.sent[1].body);
  CHECK(body["metadata"]["resourceVersion"] == "189");
  CHECK(body["metadata"]["uid"] == "afcaa869-8304-4535-a61b-32ece47d41ec");
  CHECK(body["metadata"]["labels"]["team"] == "a");
  CHECK(body["metadata"]["annotations"]["note"] == "kept");

  // The answer to the write is kept too: the next renewal is built on it.
  REQUIRE(client.update(written.value(), record, 1s).ok());
  CHECK(nlohmann::json::parse(transport.sent[2].body)["metadata"]["resourceVersion"] == "190");
}

TEST_CASE(
    "an update whose base object is not kept fails as a conflict with a clear error and sends nothing") {
  auto owned = std::make_unique<ScriptedTransport>();
  auto& transport = *owned;
  LeaseClient client(std::move(owned), "default", "demo", std::make_shared<LeaseObjectCache>(1));
  transport.answers.push_back(ok(fixture("04-get.json")));
  transport.answers.push_back(ok(fixture("05-update.json")));
  const auto old = client.get(1s);
  REQUIRE(old.ok());
  REQUIRE(client.get(1s).ok());  // a newer version pushes the old one out

  const auto result = client.update(old.value(), old.value().record, 1s);
  CHECK(result.is(ApiErrorKind::conflict));
  CHECK_FALSE(result.error().outcome_unknown());
  const std::string& message = result.error().message;
  CHECK(message.find("default/demo") != std::string::npos);
  CHECK(message.find("resourceVersion \"189\"") != std::string::npos);
  CHECK(message.find("read again") != std::string::npos);
  CHECK(transport.sent.size() == 2);  // the two reads, no PUT
}

TEST_CASE("a Lease from a watch event is updated in the server's key order with nothing lost") {
  // Keys as a server might order them, not alphabetically; labels, annotations, managedFields, an
  // unknown spec field and an unknown top-level field, all of which must come back as they were.
  const std::string object =
      R"({"spec":{"renewTime":"2026-11-24T23:59:00.123456Z","holderIdentity":"pod-a",)"
      R"("preferredHolder":"pod-c","leaseDurationSeconds":15,"acquireTime":"2026-11-24T23:59:00.123456Z",)"
      R"("leaseTransitions":3},"metadata":{"resourceVersion":"194","name":"demo","uid":"u1",)"
      R"("namespace":"default","labels":{"zeta":"z","alpha":"a"},"annotations":{"example.com/note":"kept"},)"
      R"("managedFields":[{"manager":"kubectl","operation":"Update"}]},"kind":"Lease",)"
      R"("apiVersion":"coordination.k8s.io/v1","status":{"future":true}})";
  auto objects = std::make_shared<LeaseObjectCache>();
  const auto events = watch(R"({"type":"MODIFIED","object":)" + object + "}\n", objects);
  REQUIRE(events.size() >= 2);
  CHECK(events[0].kind == LeaseEvent::Kind::connected);
  CHECK(events[1].kind == LeaseEvent::Kind::changed);
  REQUIRE(events[1].lease);
  const StoredLease& base = *events[1].lease;
  CHECK(base.resource_version == "194");

  // The store the elector writes through shares the watcher's objects.
  auto owned = std::make_unique<ScriptedTransport>();
  auto& transport = *owned;
  LeaseClient client(std::move(owned), "default", "demo", objects);
  transport.answers.push_back(ok(fixture("05-update.json")));
  LeaderRecord record = base.record;
  record.renew_time = le::util::parse_micro_time("2026-11-24T23:59:02.654321Z");
  REQUIRE(client.update(base, record, 1s).ok());
  REQUIRE(transport.sent.size() == 1);
  CHECK(transport.sent[0].method == "PUT");

  std::string expected = object;
  const std::string old_renew = R"("renewTime":"2026-11-24T23:59:00.123456Z")";
  expected.replace(expected.find(old_renew), old_renew.size(),
                   R"("renewTime":"2026-11-24T23:59:02.654321Z")");
  CHECK(transport.sent[0].body == expected);
}
