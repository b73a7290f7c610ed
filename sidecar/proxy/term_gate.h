#pragma once
// Which leadership term the proxy may act for, and the end of every exchange the moment its term
// ends. A request is let through to the app only while this replica leads (computed as /leader
// computes it); every exchange that was let through is registered here with the term it began in,
// and is reset as soon as that term no longer holds: by time (the renew deadline passed without a
// renewal), by a conflict (another holder in the Lease), by a step-down. A shutdown (SIGTERM) lets
// begun exchanges go on, as the Lease stays ours and renewed, until just before the release, when
// close_all() ends them (README "proxy"). Each exchange also asks may_continue() before it sends a
// byte to the app, so nothing is sent between the end of a term and the reset's arrival.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "election/clock.h"
#include "election/snapshot.h"

namespace le::proxy {

// The term an exchange was admitted under, as the hop header and the Lease annotation name it.
struct AdmittedTerm {
  std::uint64_t number = 0;   // this process's term number (ElectionSnapshot::term)
  std::string holder;         // holderIdentity
  std::string acquire_time;   // acquireTime, as stored (MicroTime text)
  std::string fencing_token;  // ElectionSnapshot::fencing_token
};

class TermGate : public std::enable_shared_from_this<TermGate> {
 public:
  static std::shared_ptr<TermGate> create(const boost::asio::any_io_executor& executor,
                                          const election::SnapshotBoard& board, const election::Clock& clock);

  // The term this replica leads at this instant, if any: a new exchange may begin under it.
  std::optional<AdmittedTerm> admit() const;
  // Whether an exchange admitted under term `number` may still send to (or take from) the app. Any
  // thread; a pointer copy and two clock reads.
  bool may_continue(std::uint64_t number) const;

  // Registers an exchange of term `number`; `reset` is called at most once, from the gate's strand or
  // close_all()'s caller, when the term ends (soon after enter() if it already has). It must only
  // post the reset to the exchange's own executor and return. Returns the key leave() takes.
  std::uint64_t enter(std::uint64_t number, std::function<void()> reset);
  // The exchange is over (finished, or reset and its connection to the app closed).
  void leave(std::uint64_t key);

  // Before a release: no exchange may go on from now on, for the term held now or any before it;
  // every open one is reset, and this waits until each has left (closed its connection to the app),
  // at most `timeout`. True when all have. Any thread but the exchanges' own.
  bool close_all(std::chrono::milliseconds timeout);

  // A snapshot was published: look again. Quick, for SnapshotBoard::add_observer.
  void snapshot_published();
  static std::function<void(const election::ElectionSnapshot&)> board_observer(
      const std::shared_ptr<TermGate>& gate);
  void stop();

  std::size_t open_exchanges() const;

 private:
  TermGate(const boost::asio::any_io_executor& executor, const election::SnapshotBoard& board,
           const election::Clock& clock);
  // The term that may go on at this instant (number 0: none), and when that ends by time alone.
  struct Holding {
    std::uint64_t number = 0;
    std::optional<election::BootTime> ends_at;
  };
  Holding holding_now() const;
  // On the strand: reset the exchanges whose term no longer holds; arm the timer for the end.
  void evaluate();

  struct Exchange {
    std::uint64_t term;
    std::function<void()> reset;
  };

  const election::SnapshotBoard& board_;
  const election::Clock& clock_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;  // on strand_

  mutable std::mutex mutex_;
  std::condition_variable all_left_;
  std::map<std::uint64_t, Exchange> exchanges_;
  std::uint64_t next_key_ = 1;
  // Terms up to this number are closed (close_all): none of their exchanges may go on.
  std::atomic<std::uint64_t> closed_through_{0};
  std::atomic<bool> stopped_{false};
  // Whether the timer is set (or a look that sets it is posted).
  std::atomic<bool> timer_armed_{false};
};

}  // namespace le::proxy
