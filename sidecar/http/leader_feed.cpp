#include "http/leader_feed.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace le::http {

namespace net = boost::asio;

std::shared_ptr<LeaderFeed> LeaderFeed::create(const net::any_io_executor& executor,
                                               const election::SnapshotBoard& board,
                                               const election::Clock& clock) {
  return std::shared_ptr<LeaderFeed>(new LeaderFeed(executor, board, clock));
}

LeaderFeed::LeaderFeed(const net::any_io_executor& executor, const election::SnapshotBoard& board,
                       const election::Clock& clock)
    : board_(board), clock_(clock), strand_(net::make_strand(executor)), timer_(strand_) {}

LeaderFeed::Reading LeaderFeed::read() {
  std::lock_guard lock(mutex_);
  return read_locked();
}

LeaderFeed::Reading LeaderFeed::read_locked() {
  // The clocks are read under the lock that numbers the answer: a reading taken later is never
  // given an older index than one taken earlier.
  Reading reading;
  reading.answer = answer_at(board_.current(), clock_.boot_now(), clock_.wall_now());
  reading.index = index_.index_for(reading.answer.key());
  return reading;
}

void LeaderFeed::wait(std::uint64_t known, std::chrono::nanoseconds max_wait, Waiter waiter) {
  std::unique_lock lock(mutex_);
  if (stopped_) return;
  Reading reading = read_locked();
  if (reading.index != known) {
    lock.unlock();
    net::post(strand_, [waiter = std::move(waiter), reading = std::move(reading)] { waiter(reading); });
    return;
  }
  const election::BootTime until = reading.answer.boot_now + max_wait;
  waiters_.emplace(until, Entry{known, std::move(waiter)});
  if (!armed_for_ || until < *armed_for_) {
    lock.unlock();
    net::post(strand_, [self = shared_from_this()] { self->evaluate(); });
  }
}

void LeaderFeed::snapshot_published() {
  if (stopped_) return;
  net::post(strand_, [self = shared_from_this()] { self->evaluate(); });
}

std::function<void(const election::ElectionSnapshot&)> LeaderFeed::board_observer(
    const std::shared_ptr<LeaderFeed>& feed) {
  return [weak = std::weak_ptr<LeaderFeed>(feed)](const election::ElectionSnapshot&) {
    if (const auto alive = weak.lock()) alive->snapshot_published();
  };
}

void LeaderFeed::stop() {
  std::multimap<election::BootTime, Entry> dropped;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    dropped.swap(waiters_);
  }
  net::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  // `dropped` goes out of scope here, outside the lock: a waiter may own the last reference to a
  // connection, whose destructor must not run under it.
}

std::size_t LeaderFeed::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

void LeaderFeed::evaluate() {
  std::vector<Waiter> due;
  Reading reading;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    reading = read_locked();
    const election::BootTime now = reading.answer.boot_now;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.known != reading.index || it->first <= now) {
        due.push_back(std::move(it->second.waiter));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    // The timer is kept for a change by time even with nobody waiting: then the index moves at
    // that instant too, and a client that comes back with an index from before a gap in
    // leadership learns of it.
    std::optional<election::BootTime> next = reading.answer.next_change_by_time;
    if (!waiters_.empty() && (!next || waiters_.begin()->first < *next)) next = waiters_.begin()->first;
    if (next) {
      arm(*next, now);
    } else if (armed_for_) {
      armed_for_.reset();
      timer_.cancel();
    }
  }
  for (auto& waiter : due) waiter(reading);
}

void LeaderFeed::arm(election::BootTime at, election::BootTime now) {
  if (armed_for_ == at) return;
  armed_for_ = at;
  // The timer runs on the steady clock, the instants are on the boot clock; the boot clock never
  // runs slower, so when the timer fires the instant has come (and evaluate() re-arms if not).
  timer_.expires_after(std::max<std::chrono::nanoseconds>(at - now, std::chrono::nanoseconds{0}));
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or stopped
    {
      std::lock_guard lock(self->mutex_);
      self->armed_for_.reset();
    }
    self->evaluate();
  });
}

}  // namespace le::http
