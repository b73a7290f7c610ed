#include "proxy/term_gate.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace le::proxy {

namespace net = boost::asio;
using namespace std::chrono;

namespace {
constexpr milliseconds kRecheckPeriod{100};
}  // namespace

std::shared_ptr<TermGate> TermGate::create(const net::any_io_executor& executor,
                                           const election::SnapshotBoard& board,
                                           const election::Clock& clock) {
  return std::shared_ptr<TermGate>(new TermGate(executor, board, clock));
}

TermGate::TermGate(const net::any_io_executor& executor, const election::SnapshotBoard& board,
                   const election::Clock& clock)
    : board_(board), clock_(clock), strand_(net::make_strand(executor)), timer_(strand_) {}

std::optional<AdmittedTerm> TermGate::admit() const {
  const auto snapshot = board_.current();
  if (!snapshot->is_leader(clock_) || snapshot->term <= closed_through_.load()) return std::nullopt;
  AdmittedTerm term;
  term.number = snapshot->term;
  term.holder = snapshot->identity;
  if (snapshot->observed && snapshot->observed->acquire_time) {
    term.acquire_time = util::format_micro_time(*snapshot->observed->acquire_time);
  }
  term.fencing_token = snapshot->fencing_token;
  return term;
}

TermGate::Holding TermGate::holding_now() const {
  const auto snapshot = board_.current();
  const auto boot_now = clock_.boot_now();
  const auto left = snapshot->held_through_shutdown_for(boot_now, clock_.wall_now());
  if (!left || snapshot->term <= closed_through_.load()) return {};
  return {snapshot->term, boot_now + *left};
}

bool TermGate::may_continue(std::uint64_t number) const {
  return number != 0 && holding_now().number == number;
}

std::uint64_t TermGate::enter(std::uint64_t number, std::function<void()> reset) {
  std::uint64_t key = 0;
  {
    std::lock_guard lock(mutex_);
    key = next_key_++;
    exchanges_.emplace(key, Exchange{number, std::move(reset)});
  }
  // The term may have ended between the exchange's admission and now: then look again (a walk of
  // every exchange, which a request that is let through in time never pays for).
  if (!may_continue(number)) snapshot_published();
  // The timer may not be running (no exchange was open): start it.
  if (!timer_armed_.exchange(true)) snapshot_published();
  return key;
}

void TermGate::leave(std::uint64_t key) {
  std::lock_guard lock(mutex_);
  exchanges_.erase(key);
  if (exchanges_.empty()) all_left_.notify_all();
}

bool TermGate::close_all(milliseconds timeout) {
  const auto snapshot = board_.current();
  std::uint64_t through = std::max(closed_through_.load(), snapshot->term);
  closed_through_.store(through);
  std::vector<std::function<void()>> resets;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, exchange] : exchanges_) {
      if (exchange.reset) resets.push_back(std::exchange(exchange.reset, nullptr));
    }
  }
  for (auto& reset : resets) reset();
  std::unique_lock lock(mutex_);
  return all_left_.wait_for(lock, timeout, [&] { return exchanges_.empty(); });
}

void TermGate::snapshot_published() {
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
  return exchanges_.size();
}

void TermGate::evaluate() {
  if (stopped_) return;
  const Holding holding = holding_now();
  std::vector<std::function<void()>> resets;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, exchange] : exchanges_) {
      if (exchange.term != holding.number && exchange.reset) {
        resets.push_back(std::exchange(exchange.reset, nullptr));
      }
    }
  }
  for (auto& reset : resets) reset();
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
    if (!exchanges_.empty()) wait = std::min<nanoseconds>(wait, kRecheckPeriod);
  }
  timer_armed_ = true;
  timer_.expires_after(wait);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->evaluate();
  });
}

}  // namespace le::proxy
