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
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/intrusive/list.hpp>

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

// An exchange's registration with the gate, owned by the exchange (a proxy session) and entered
// again for each of its exchanges: entering and leaving allocate nothing. It must not be destroyed
// while entered.
class GateEntry
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>> {
 public:
  // `reset` is called at most once per enter(), from the gate's strand or close_all()'s caller, when
  // the term ends (soon after enter() if it already has), with the tag enter() was given. It must
  // only post the reset to the exchange's own executor and return.
  GateEntry() = default;
  explicit GateEntry(std::function<void(std::uint64_t tag)> reset) : reset_(std::move(reset)) {}
  // Before the first enter(): an exchange that is owned by a shared_ptr knows its weak self only
  // once constructed.
  void reset_with(std::function<void(std::uint64_t tag)> reset) { reset_ = std::move(reset); }
  GateEntry(const GateEntry&) = delete;
  GateEntry& operator=(const GateEntry&) = delete;

 private:
  friend class TermGate;
  std::uint64_t term_ = 0;
  std::uint64_t tag_ = 0;
  bool reset_sent_ = false;
  std::function<void(std::uint64_t)> reset_;
};

class TermGate : public std::enable_shared_from_this<TermGate> {
 public:
  // One per thread that lets exchanges through (a proxy worker): that thread's view of the board,
  // taken again only when a snapshot was published, and that thread's open exchanges, under a lock
  // of their own. A request then costs no lock another thread takes and no string copied.
  class Shard {
   public:
    explicit Shard(TermGate& gate) : gate_(gate) {}
    // The term this replica leads at this instant, if any: a new exchange may begin under it.
    std::shared_ptr<const AdmittedTerm> admit();
    // Whether an exchange admitted under term `number` may still send to (or take from) the app.
    bool may_continue(std::uint64_t number);
    // Registers an exchange of term `number`; its reset gets `tag`.
    void enter(GateEntry& entry, std::uint64_t number, std::uint64_t tag);
    // The exchange is over (finished, or reset and its connection to the app closed). Harmless
    // when not entered.
    void leave(GateEntry& entry);

   private:
    friend class TermGate;
    const election::ElectionSnapshot& view();

    TermGate& gate_;
    // The owner thread's alone.
    std::uint64_t version_ = 0;  // SnapshotBoard::version() of snapshot_; 0: none taken yet
    std::shared_ptr<const election::ElectionSnapshot> snapshot_;
    std::shared_ptr<const AdmittedTerm> admitted_;  // what admit() answers while leading snapshot_
    // Shared with the gate's strand and close_all().
    std::mutex mutex_;
    boost::intrusive::list<GateEntry, boost::intrusive::constant_time_size<true>> entries_;
  };

  // The gate must see every snapshot to reset the exchanges of an ended term: add
  // board_observer(gate) to the board. (The shards' views follow SnapshotBoard::version() and need
  // no observer.)
  static std::shared_ptr<TermGate> create(const boost::asio::any_io_executor& executor,
                                          const election::SnapshotBoard& board, const election::Clock& clock);

  // A new shard, for one thread; it lives as long as the gate.
  Shard& add_shard();

  // What Shard::admit() and Shard::may_continue() answer, from the board itself (any thread).
  std::optional<AdmittedTerm> admit() const;
  bool may_continue(std::uint64_t number) const;

  // Before a release: no exchange may go on from now on, for the term held now or any before it;
  // every open one is reset, and this waits until each has left (closed its connection to the app),
  // at most `timeout`. True when all have. Any thread but the exchanges' own.
  bool close_all(std::chrono::milliseconds timeout);

  // A snapshot was published: the open exchanges are looked at again. Quick, for
  // SnapshotBoard::add_observer.
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
  Holding holding_in(const election::ElectionSnapshot& snapshot) const;
  AdmittedTerm admitted_in(const election::ElectionSnapshot& snapshot) const;
  // Post evaluate() to the strand.
  void look_again();
  // On the strand: reset the exchanges whose term no longer holds; arm the timer for the end.
  void evaluate();
  // The resets of every entered exchange `ended` says is over, each marked sent; under the shards'
  // locks, called outside them.
  template <class Ended>
  std::vector<std::pair<std::function<void(std::uint64_t)>, std::uint64_t>> resets_due(Ended ended);
  bool any_open() const;

  const election::SnapshotBoard& board_;
  const election::Clock& clock_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;  // on strand_

  mutable std::mutex mutex_;  // the shard list; close_all()'s wait
  std::condition_variable all_left_;
  std::vector<std::unique_ptr<Shard>> shards_;
  // close_all() waits: a shard that empties says so.
  std::atomic<bool> closing_{false};
  // Terms up to this number are closed (close_all): none of their exchanges may go on.
  std::atomic<std::uint64_t> closed_through_{0};
  std::atomic<bool> stopped_{false};
  // Whether the timer is set (or a look that sets it is posted).
  std::atomic<bool> timer_armed_{false};
};

}  // namespace le::proxy
