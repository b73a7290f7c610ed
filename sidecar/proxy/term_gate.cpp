#include "proxy/term_gate.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include "util/micro_time.h"

namespace le::proxy {

namespace net = boost::asio;
using namespace std::chrono;

namespace {
constexpr milliseconds kRecheckPeriod{100};
}  // namespace

// --- The shards: each worker's own ------------------------------------------------------------

const election::ElectionSnapshot& TermGate::Shard::view() {
  // The version first, then the snapshot (SnapshotBoard::version): a publish in between only makes
  // the next look take it again; an older snapshot is never tagged with a newer version.
  const std::uint64_t version = gate_.board_.version();
  if (version != version_ || !snapshot_) {
    version_ = version;
    snapshot_ = gate_.board_.current();
    admitted_.reset();
  }
  return *snapshot_;
}

std::shared_ptr<const AdmittedTerm> TermGate::Shard::admit() {
  const auto& snapshot = view();
  if (!snapshot.is_leader(gate_.clock_) || snapshot.term <= gate_.closed_through_.load()) return nullptr;
  // The term's names, formatted once per snapshot rather than once per request.
  if (!admitted_) admitted_ = std::make_shared<const AdmittedTerm>(gate_.admitted_in(snapshot));
  return admitted_;
}

bool TermGate::Shard::may_continue(std::uint64_t number) {
  return number != 0 && gate_.holding_in(view()).number == number;
}

void TermGate::Shard::enter(GateEntry& entry, std::uint64_t number, std::uint64_t tag) {
  {
    std::lock_guard lock(mutex_);
    if (entry.is_linked()) entries_.erase(entries_.iterator_to(entry));
    entry.term_ = number;
    entry.tag_ = tag;
    entry.reset_sent_ = false;
    entries_.push_back(entry);
  }
  // The term may have ended between the exchange's admission and now: then look again (a walk of
  // every exchange, which a request that is let through in time never pays for).
  if (!may_continue(number)) gate_.look_again();
  // The timer may not be running (no exchange was open): start it.
  if (!gate_.timer_armed_.load() && !gate_.timer_armed_.exchange(true)) gate_.look_again();
}

void TermGate::Shard::leave(GateEntry& entry) {
  bool now_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (!entry.is_linked()) return;
    entries_.erase(entries_.iterator_to(entry));
    now_empty = entries_.empty();
  }
  // After the shard's lock, never inside it: close_all() takes the gate's lock, then the shards'.
  if (now_empty && gate_.closing_.load()) {
    std::lock_guard lock(gate_.mutex_);
    gate_.all_left_.notify_all();
  }
}

// --- The gate ----------------------------------------------------------------------------------

std::shared_ptr<TermGate> TermGate::create(const net::any_io_executor& executor,
                                           const election::SnapshotBoard& board,
                                           const election::Clock& clock) {
  return std::shared_ptr<TermGate>(new TermGate(executor, board, clock));
}

TermGate::TermGate(const net::any_io_executor& executor, const election::SnapshotBoard& board,
                   const election::Clock& clock)
    : board_(board), clock_(clock), strand_(net::make_strand(executor)), timer_(strand_) {}

TermGate::Shard& TermGate::add_shard() {
  std::lock_guard lock(mutex_);
  shards_.push_back(std::make_unique<Shard>(*this));
  return *shards_.back();
}

AdmittedTerm TermGate::admitted_in(const election::ElectionSnapshot& snapshot) const {
  AdmittedTerm term;
  term.number = snapshot.term;
  term.holder = snapshot.identity;
  if (snapshot.observed && snapshot.observed->acquire_time) {
    term.acquire_time = util::format_micro_time(*snapshot.observed->acquire_time);
  }
  term.fencing_token = snapshot.fencing_token;
  return term;
}

std::optional<AdmittedTerm> TermGate::admit() const {
  const auto snapshot = board_.current();
  if (!snapshot->is_leader(clock_) || snapshot->term <= closed_through_.load()) return std::nullopt;
  return admitted_in(*snapshot);
}

TermGate::Holding TermGate::holding_in(const election::ElectionSnapshot& snapshot) const {
  const auto boot_now = clock_.boot_now();
  const auto left = snapshot.held_through_shutdown_for(boot_now, clock_.wall_now());
  if (!left || snapshot.term <= closed_through_.load()) return {};
  return {snapshot.term, boot_now + *left};
}

bool TermGate::may_continue(std::uint64_t number) const {
  return number != 0 && holding_in(*board_.current()).number == number;
}

template <class Ended>
std::vector<std::pair<std::function<void(std::uint64_t)>, std::uint64_t>> TermGate::resets_due(Ended ended) {
  std::vector<std::pair<std::function<void(std::uint64_t)>, std::uint64_t>> resets;
  std::lock_guard lock(mutex_);
  for (const auto& shard : shards_) {
    std::lock_guard shard_lock(shard->mutex_);
    for (auto& entry : shard->entries_) {
      if (entry.reset_sent_ || !ended(entry.term_)) continue;
      entry.reset_sent_ = true;
      // A copy: the entry may leave, and its session go, once the shard's lock is let go.
      resets.emplace_back(entry.reset_, entry.tag_);
    }
  }
  return resets;
}

bool TermGate::any_open() const {
  for (const auto& shard : shards_) {
    std::lock_guard shard_lock(shard->mutex_);
    if (!shard->entries_.empty()) return true;
  }
  return false;
}

bool TermGate::close_all(milliseconds timeout) {
  const auto snapshot = board_.current();
  closed_through_.store(std::max(closed_through_.load(), snapshot->term));
  closing_.store(true);
  for (auto& [reset, tag] : resets_due([](std::uint64_t) { return true; })) reset(tag);
  std::unique_lock lock(mutex_);
  return all_left_.wait_for(lock, timeout, [&] { return !any_open(); });
}

void TermGate::snapshot_published() { look_again(); }

void TermGate::look_again() {
  if (stopped_) return;
  net::post(strand_, [self = shared_from_this()] { self->evaluate(); });
}

std::function<void(const election::ElectionSnapshot&)> TermGate::board_observer(
    const std::shared_ptr<TermGate>& gate) {
  // Weakly: the board outlives the io_context the gate's strand belongs to.
  return [weak = std::weak_ptr<TermGate>(gate)](const election::ElectionSnapshot&) {
    if (const auto alive = weak.lock()) alive->snapshot_published();
  };
}

void TermGate::stop() {
  stopped_ = true;
  net::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
}

std::size_t TermGate::open_exchanges() const {
  std::lock_guard lock(mutex_);
  std::size_t open = 0;
  for (const auto& shard : shards_) {
    std::lock_guard shard_lock(shard->mutex_);
    open += shard->entries_.size();
  }
  return open;
}

void TermGate::evaluate() {
  if (stopped_) return;
  const Holding holding = holding_in(*board_.current());
  for (auto& [reset, tag] : resets_due([&](std::uint64_t term) { return term != holding.number; }))
    reset(tag);
  if (!holding.ends_at) {
    timer_armed_ = false;
    timer_.cancel();
    return;
  }
  // The timer runs on the steady clock, the end on the boot clock, which never runs slower: when the
  // timer fires the end has come, or evaluate() arms it again for what is left. At most
  // kRecheckPeriod apart while exchanges are open: the wall clock, which can only shorten a term,
  // may jump, and a write already under way is only cut off by a reset.
  nanoseconds wait = std::max<nanoseconds>(*holding.ends_at - clock_.boot_now(), nanoseconds{0});
  {
    std::lock_guard lock(mutex_);
    if (any_open()) wait = std::min<nanoseconds>(wait, kRecheckPeriod);
  }
  timer_armed_ = true;
  timer_.expires_after(wait);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->evaluate();
  });
}

}  // namespace le::proxy
