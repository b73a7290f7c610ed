#include "http/leader_answer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace le::http {

using nlohmann::json;

LeaderAnswer answer_at(std::shared_ptr<const election::ElectionSnapshot> snapshot,
                       election::BootTime boot_now, election::WallClockTime wall_now) {
  LeaderAnswer answer;
  answer.boot_now = boot_now;
  answer.wall_now = wall_now;
  answer.valid_for = snapshot->valid_for(boot_now, wall_now);
  answer.status = snapshot->status_at(boot_now, wall_now);
  answer.next_change_by_time = snapshot->next_change_by_time(boot_now, wall_now);
  answer.snapshot = std::move(snapshot);
  return answer;
}

AnswerKey LeaderAnswer::key() const {
  AnswerKey key;
  key.is_leader = leading();
  if (snapshot->observed) {
    key.name = snapshot->observed->holder_identity;
    key.lease_transitions = snapshot->observed->lease_transitions;
    key.acquire_time = snapshot->observed->acquire_time;
  }
  // The token belongs to the term, and is news only to the leader of it.
  if (leading()) key.fencing_token = snapshot->fencing_token;
  key.status = status;
  return key;
}

namespace {

// A JSON string exactly as json::dump(-1, ' ', false, error_handler_t::replace) writes it. Names,
// identities, leases and tokens are printable ASCII in practice (Kubernetes names are DNS labels),
// copied as they are; anything else goes through nlohmann::json, so its escapes and its replacement
// of invalid UTF-8 stay exactly its own.
void append_string(std::string& out, std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(),
                                 [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
  if (!plain) {
    out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

template <class Integer>
void append_integer(std::string& out, Integer value) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

// `"key":`, the comma before every key but the first being the caller's.
void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

}  // namespace

std::string leader_body_text(const LeaderAnswer& answer, std::uint64_t index) {
  // Written directly rather than built as a json object and dumped: /leader answers with a new one
  // per request, and the object cost some forty allocations (a std::map node, a key and a value
  // each) and a third of the request's time. The keys go in the order json::dump() writes them
  // (std::map's, sorted), so the text is the same, byte for byte, as before.
  const auto& snapshot = *answer.snapshot;
  const auto& observed = snapshot.observed;
  std::string out;
  out.reserve(512);
  out += '{';
  if (observed && observed->acquire_time) {
    append_key(out, "acquireTime");
    out += '"';
    util::append_micro_time(out, *observed->acquire_time);
    out += "\",";
  }
  if (answer.valid_for && !snapshot.fencing_token.empty()) {
    append_key(out, "fencingToken");
    append_string(out, snapshot.fencing_token);
    out += ',';
  }
  append_key(out, "identity");
  append_string(out, snapshot.identity);
  out += ',';
  append_key(out, "index");
  append_integer(out, index);
  out += ',';
  append_key(out, "isLeader");
  out += answer.leading() ? "true," : "false,";
  append_key(out, "lease");
  append_string(out, snapshot.lease);
  out += ',';
  append_key(out, "leaseTransitions");
  append_integer(out, observed ? observed->lease_transitions : 0);
  out += ',';
  append_key(out, "name");
  append_string(out, observed ? std::string_view{observed->holder_identity} : std::string_view{});
  out += ',';
  if (observed && observed->renew_time) {
    append_key(out, "renewTime");
    out += '"';
    util::append_micro_time(out, *observed->renew_time);
    out += "\",";
  }
  append_key(out, "status");
  append_string(out, answer.status);
  if (answer.valid_for) {
    // Floor, so the app never believes in a millisecond it does not have.
    out += ',';
    append_key(out, "validForMs");
    append_integer(out, std::chrono::floor<std::chrono::milliseconds>(*answer.valid_for).count());
    out += ',';
    append_key(out, "validUntil");
    out += '"';
    util::append_micro_time(out,
                            util::to_micro(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                                answer.wall_now + *answer.valid_for)));
    out += "\",";
    // The same end on CLOCK_BOOTTIME, which the app in this Pod reads from the same kernel: a
    // deadline that holds however late the answer is read (a long poll, a buffered event).
    append_key(out, "validUntilBoottimeNs");
    append_integer(out, (answer.boot_now + *answer.valid_for).time_since_epoch().count());
  }
  out += '}';
  return out;
}

json leader_body(const LeaderAnswer& answer, std::uint64_t index) {
  return json::parse(leader_body_text(answer, index));
}

}  // namespace le::http
