#include "http/election_routes.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "http/leader_answer.h"

namespace le::http {
namespace {

using election::ElectionSnapshot;
using nlohmann::json;

std::string dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

Response json_ok(unsigned status, const json& body) {
  auto response = json_response(status, dump(body));
  // Leadership changes from one moment to the next; no cache may answer for us.
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response leader_response(const LeaderFeed::Reading& reading) {
  auto response = json_response(200, leader_body_text(reading.answer, reading.index));
  response.headers.reserve(2);
  // Leadership changes from one moment to the next; no cache may answer for us.
  response.headers.emplace_back("Cache-Control", "no-store");
  // As Consul's X-Consul-Index: a client can long-poll from the headers alone.
  response.headers.emplace_back("X-Lease-Elector-Index", std::to_string(reading.index));
  return response;
}

std::optional<std::uint64_t> parse_index(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// "30s", "500ms", "2m", or a bare number of seconds; nullopt for anything else.
std::optional<std::chrono::nanoseconds> parse_wait(std::string_view text) {
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  // Anything above the cap is the cap, so a huge count cannot overflow below.
  constexpr std::uint64_t kCapSeconds = std::chrono::seconds{kMaxLongPollWait}.count();
  if (unit.empty() || unit == "s") return std::chrono::seconds{std::min(count, kCapSeconds)};
  if (unit == "ms") return std::chrono::milliseconds{std::min(count, kCapSeconds * 1000)};
  if (unit == "m") return std::chrono::minutes{std::min(count, kCapSeconds / 60)};
  return std::nullopt;
}

// One event of /leader/stream: the id is the answer's index, so a client that reconnects with
// Last-Event-ID gets the current answer only if it changed since.
std::string stream_event(const LeaderFeed::Reading& reading) {
  return "id: " + std::to_string(reading.index) +
         "\ndata: " + leader_body_text(reading.answer, reading.index) + "\n\n";
}

// Drives one /leader/stream connection: send, wait for the next change (or the keep-alive), send.
// Owned by the callbacks in flight; it ends when a write fails (the client is gone).
class LeaderStream : public std::enable_shared_from_this<LeaderStream> {
 public:
  LeaderStream(std::shared_ptr<LeaderFeed> feed, std::shared_ptr<Responder> responder, std::uint64_t known)
      : feed_(std::move(feed)), responder_(std::move(responder)), known_(known) {}

  void start() {
    // The first chunk goes at once, so the client sees the head now: the current answer, unless
    // Last-Event-ID says it has it already. "retry" sets EventSource's reconnection delay.
    send("retry: 1000\n" + next_chunk(feed_->read()));
  }

 private:
  // A changed answer is an event; so is the same answer of a leader (its validity renewed, see
  // refresh_after); anything else is a comment that keeps the connection alive.
  std::string next_chunk(const LeaderFeed::Reading& reading) {
    valid_for_sent_ = reading.answer.valid_for;
    if (reading.index == known_ && !reading.answer.leading()) return ": keep-alive\n\n";
    known_ = reading.index;
    return stream_event(reading);
  }
  void send(std::string chunk) {
    responder_->send_chunk(std::move(chunk), [self = shared_from_this()](bool written) {
      if (written) self->wait();
    });
  }
  void wait() {
    std::chrono::nanoseconds max_wait = kStreamKeepAlive;
    if (valid_for_sent_) max_wait = std::min(max_wait, refresh_after(*valid_for_sent_));
    feed_->wait(known_, max_wait, [self = shared_from_this()](const LeaderFeed::Reading& reading) {
      self->send(self->next_chunk(reading));
    });
  }

  std::shared_ptr<LeaderFeed> feed_;
  std::shared_ptr<Responder> responder_;
  std::uint64_t known_;
  std::optional<std::chrono::nanoseconds> valid_for_sent_;  // of the last answer sent, if it led
};

Response leader_route(const std::shared_ptr<LeaderFeed>& feed, const Request& request) {
  const auto index_text = request.query("index");
  const auto wait_text = request.query("wait");
  if (!index_text) {
    if (wait_text) return json_error(400, "wait needs index: GET /leader?index=N&wait=30s", request.path());
    return leader_response(feed->read());
  }
  const auto known = parse_index(*index_text);
  if (!known)
    return json_error(400, "index must be a whole number (the index of an earlier answer)", request.path());
  std::chrono::nanoseconds wait = kDefaultLongPollWait;
  if (wait_text) {
    const auto parsed = parse_wait(*wait_text);
    if (!parsed) return json_error(400, "wait must be a duration such as 30s, 500ms or 2m", request.path());
    wait = *parsed;
  }
  auto reading = feed->read();
  // Answered at once when the client does not have this answer, or cannot wait (HEAD, wait=0).
  if (reading.index != *known || request.method == "HEAD" || wait <= std::chrono::nanoseconds::zero()) {
    return leader_response(reading);
  }
  if (reading.answer.valid_for) wait = std::min(wait, refresh_after(*reading.answer.valid_for));
  Response deferred;
  deferred.defer = [feed, known = *known, wait](std::shared_ptr<Responder> responder) {
    feed->wait(known, wait, [responder = std::move(responder)](const LeaderFeed::Reading& changed) {
      responder->respond(leader_response(changed));
    });
  };
  return deferred;
}

Response stream_route(const std::shared_ptr<LeaderFeed>& feed, const Request& request) {
  Response head;
  head.content_type = "text/event-stream";
  head.headers.emplace_back("Cache-Control", "no-store");
  // nginx buffers proxied responses unless told not to; an event must not wait in a buffer.
  head.headers.emplace_back("X-Accel-Buffering", "no");
  if (request.method == "HEAD") return head;
  std::uint64_t known = 0;  // no answer is index 0: the first chunk carries the current answer
  if (const auto last = request.header("Last-Event-ID")) known = parse_index(*last).value_or(0);
  Response deferred;
  deferred.defer = [feed, known, head = std::move(head)](std::shared_ptr<Responder> responder) {
    responder->start_stream(head);
    std::make_shared<LeaderStream>(feed, std::move(responder), known)->start();
  };
  return deferred;
}

std::string liveness_failure(const ElectionSnapshot& snapshot, election::BootTime boot_now) {
  if (snapshot.alive_until == election::BootTime{}) return "the election loop has not started";
  const auto late = std::chrono::floor<std::chrono::milliseconds>(boot_now - snapshot.alive_until);
  return "the election loop is " + std::to_string(late.count()) +
         " ms past the time it promised to report by";
}

}  // namespace

std::shared_ptr<RouteTable> make_election_route_table(const election::SnapshotBoard& board,
                                                      const election::Clock& clock,
                                                      const std::shared_ptr<LeaderFeed>& feed) {
  auto routes = std::make_shared<RouteTable>();

  routes->get("/leader", [feed](const Request& request) { return leader_route(feed, request); });
  routes->get("/leader/stream", [feed](const Request& request) { return stream_route(feed, request); });

  // Exactly {"name": ...}: apps written against the classic leader-elector sidecar
  // (k8s.gcr.io/leader-elector) compare this field with their own pod name.
  routes->get("/", [&board](const Request&) {
    const auto snapshot = board.current();
    return json_ok(200,
                   json{{"name", snapshot->observed ? snapshot->observed->holder_identity : std::string{}}});
  });

  // Liveness judges only the election loop itself: an unreachable API server is no reason to
  // restart the pod (a restart would not fix it), and the loop keeps promising while it retries.
  routes->get("/healthz", [&board, &clock](const Request&) {
    const auto snapshot = board.current();
    const auto boot_now = clock.boot_now();
    if (snapshot->alive(boot_now)) return json_ok(200, json{{"status", "ok"}});
    return json_ok(503, json{{"status", "unhealthy"}, {"reason", liveness_failure(*snapshot, boot_now)}});
  });

  routes->get("/readyz", [&board, &clock](const Request&) {
    const auto answer = answer_at(board.current(), clock.boot_now(), clock.wall_now());
    return json_ok(answer.leading() ? 200 : 503,
                   json{{"isLeader", answer.leading()}, {"status", answer.status}});
  });

  return routes;
}

}  // namespace le::http
