#pragma once
// Tells waiting clients (long polls, event streams) that the /leader answer changed: on every new
// snapshot, and at the instants when leadership begins or ends by time alone (the end of a
// create's wait, the renew deadline), when no snapshot comes. A waiter costs an entry in a map and
// no thread; one timer serves them all.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "election/clock.h"
#include "election/snapshot.h"
#include "http/leader_answer.h"

namespace le::http {

class LeaderFeed : public std::enable_shared_from_this<LeaderFeed> {
 public:
  struct Reading {
    LeaderAnswer answer;
    std::uint64_t index = 0;
  };
  // Called once, on a thread of the executor, and never under the feed's lock.
  using Waiter = std::function<void(const Reading&)>;

  static std::shared_ptr<LeaderFeed> create(const boost::asio::any_io_executor& executor,
                                            const election::SnapshotBoard& board,
                                            const election::Clock& clock);

  // The answer now, numbered. Thread-safe.
  Reading read();
  // Calls `waiter` as soon as the index differs from `known` (at once, posted, if it already does),
  // or after `max_wait` with the answer then. Thread-safe.
  void wait(std::uint64_t known, std::chrono::nanoseconds max_wait, Waiter waiter);
  // A snapshot was published: look again. Thread-safe and quick (it posts the work and takes no
  // lock of the feed's, which reads the board under its own), so the board can call it under its
  // lock.
  void snapshot_published();
  // What SnapshotBoard::add_observer takes: calls snapshot_published() while the feed exists. It
  // holds the feed weakly: the board outlives the io_context the feed's strand belongs to, and
  // must not keep the feed alive past it.
  static std::function<void(const election::ElectionSnapshot&)> board_observer(
      const std::shared_ptr<LeaderFeed>& feed);
  // Drops every waiter unanswered and the timer: the server is going away.
  void stop();

  std::size_t waiting() const;

 private:
  LeaderFeed(const boost::asio::any_io_executor& executor, const election::SnapshotBoard& board,
             const election::Clock& clock);
  Reading read_locked();
  // On the strand: answer the waiters that are due, then set the timer for the next instant
  // something may be due.
  void evaluate();
  void arm(election::BootTime at, election::BootTime now);

  struct Entry {
    std::uint64_t known;
    Waiter waiter;
  };

  const election::SnapshotBoard& board_;
  const election::Clock& clock_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;  // on strand_

  mutable std::mutex mutex_;
  AnswerIndex index_;
  // By the instant each waiter must be answered at the latest.
  std::multimap<election::BootTime, Entry> waiters_;
  // The instant timer_ is set for, if it is set; wait() re-arms only for an earlier one.
  std::optional<election::BootTime> armed_for_;
  std::atomic<bool> stopped_{false};
};

}  // namespace le::http
