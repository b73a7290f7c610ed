#pragma once
// The randomized elector runs (test_elector.cpp polls, test_elector_watch.cpp watches): what may
// befall a replica or its Lease before a tick. Each run has its own table of events and chances;
// the events, how a row is picked and what the events common to both do live here.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "fake_lease_store.h"

namespace le::testing {

enum class RandomEvent {
  none,
  lost_answer,       // the replica's next request applies, and its answer is lost (a timeout)
  late_apply,        // its next request times out; the server applies it later, or never
  applied_twice,     // its next request applies, and is sent again (Fault::apply_twice)
  server_error,      // its next request fails with a 5xx
  cut_off,           // its next 1 to 15 requests fail: cut off from the API server for a while
  pause,             // a paused VM: its boot clock stops, and it does not tick meanwhile
  wall_clock_stuck,  // its wall clock stands still while the boot clock runs, then is set right
  kill_and_restart,  // SIGKILL and restart under the same identity
  graceful_restart,  // stop (with release) and restart
  edit_labels,       // someone edits the Lease's labels: a new resourceVersion, the same record
  remove,            // the Lease is deleted
  reset_in_place,    // helm upgrade --force, kubectl replace of `spec: {}`: same uid, empty record
  recreate_empty,    // kubectl replace --force: a new uid, an empty record
  restore_export,    // an old export restored: a new object holding an old record
  deliver_deferred,  // writes whose answers were lost reach the server now, or never
  step_down,         // a leader is asked to step down (POST /step-down, SIGUSR1): hidden at once,
                     // the election thread told now or only at its next step
};

// A row of a run's table: its event happens when the draw is below `below`. Rows are tried in
// order, as an if/else-if chain: a row whose event is not possible now passes the draw on.
struct EventRow {
  double below;
  RandomEvent event;
};

inline RandomEvent pick(std::initializer_list<EventRow> table, double draw,
                        const std::function<bool(RandomEvent)>& possible) {
  for (const auto& row : table) {
    if (draw < row.below && possible(row.event)) return row.event;
  }
  return RandomEvent::none;
}

// Whether the Lease is in a state the event needs (either run adds its own conditions).
inline bool lease_allows(RandomEvent event, const FakeLeaseServer& server,
                         const std::vector<election::LeaderRecord>& exports) {
  switch (event) {
    case RandomEvent::edit_labels:
      return server.record.has_value();
    case RandomEvent::restore_export:
      return !exports.empty();
    case RandomEvent::deliver_deferred:
      return !server.deferred.empty();
    default:
      return true;
  }
}

// Carries out the events that concern only the Lease and the replica's next requests; returns
// false, doing nothing, for the others (the run's own: pauses, clocks, restarts). `label` makes
// each label edit a change; `uniform` is the run's random source.
inline bool apply_lease_event(RandomEvent event, FakeLeaseServer& server, FakeLeaseStore& store,
                              const std::vector<election::LeaderRecord>& exports, int label,
                              const std::function<double()>& uniform) {
  using election::ApiErrorKind;
  switch (event) {
    case RandomEvent::lost_answer:
      store.script({Fault::apply_then_lose, ApiErrorKind::timeout, ""});
      return true;
    case RandomEvent::late_apply:
      store.script({Fault::lose_then_apply, ApiErrorKind::timeout, ""});
      return true;
    case RandomEvent::applied_twice:
      store.script({Fault::apply_twice, ApiErrorKind::timeout, ""});
      return true;
    case RandomEvent::server_error:
      store.script({Fault::fail, ApiErrorKind::server_error, ""});
      return true;
    case RandomEvent::cut_off: {
      // Its next requests all fail, while the others go on (and may delete, create and lead the
      // Lease meanwhile).
      const int failures = 1 + int(uniform() * 15);
      for (int k = 0; k < failures; ++k) store.script({Fault::fail, ApiErrorKind::network, ""});
      return true;
    }
    case RandomEvent::edit_labels:
      server.edit_labels("{\"n\":\"" + std::to_string(label) + "\"}");
      return true;
    case RandomEvent::remove:
      server.remove();
      return true;
    case RandomEvent::reset_in_place:
      server.reset_in_place();
      return true;
    case RandomEvent::recreate_empty:
      server.recreate_empty();
      return true;
    case RandomEvent::restore_export:
      server.remove();
      server.external_write(exports[std::size_t(uniform() * exports.size()) % exports.size()]);
      return true;
    case RandomEvent::deliver_deferred:
      if (uniform() < 0.7) server.run_deferred();
      server.deferred.clear();
      return true;
    default:
      return false;
  }
}

// After the events, before the tick: sometimes keep the Lease's record as an export to restore
// later. Held records only: a released record restored into a new object is caught by the uid
// rule only by replicas that saw the object it replaced (README, Safety: what remains).
inline void maybe_export(const FakeLeaseServer& server, std::vector<election::LeaderRecord>& exports,
                         const std::function<double()>& uniform) {
  if (server.record && server.record->has_holder() && uniform() < 0.05) exports.push_back(*server.record);
}

// A step-down whose request has hidden leadership on the board and not yet reached the elector.
struct PendingStepDown {
  std::uint64_t term = 0;
  std::chrono::nanoseconds release_delay{0};
  std::chrono::nanoseconds hold_off{0};
};

// The step_down event: the board hides leadership at once; the elector hears of it now or, as
// when the request arrives while its thread is busy, at the replica's next step (`pending`).
// Release delays up to 2 s, hold-offs up to 20 s.
// Returns whether a step-down began (the replica led).
template <class Replica>
bool begin_random_step_down(Replica& replica, std::optional<PendingStepDown>& pending,
                            const std::function<double()>& uniform) {
  const auto term = replica.board.withhold_leadership(replica.clock);
  if (!term) return false;
  PendingStepDown request{*term, std::chrono::milliseconds{int(uniform() * 2'000)},
                          std::chrono::milliseconds{int(uniform() * 20'000)}};
  if (uniform() < 0.5) {
    replica.elector.step_down(request.term, request.release_delay, request.hold_off);
  } else {
    pending = request;
  }
  return true;
}
template <class Replica>
void deliver_pending_step_down(Replica& replica, std::optional<PendingStepDown>& pending) {
  if (!pending) return;
  replica.elector.step_down(pending->term, pending->release_delay, pending->hold_off);
  pending.reset();
}

// The state a lost step-down leaves: the elector still leads its term (and would renew it for
// ever) while the board hides that term, with no step-down on its way to end it. Nobody would
// lead, and the replica's own log and Events would say it does.
template <class Replica>
bool leads_behind_hidden_board(Replica& replica, const std::optional<PendingStepDown>& pending) {
  return !pending && replica.elector.is_leader() && replica.board.current()->stepping_down;
}

// The seeds a randomized run covers: 1..count, or the one in LEASE_ELECTOR_SEED (run it with
// LEASE_ELECTOR_TEST_LOGS=1 for the elector's logs).
struct SeedRange {
  unsigned first;
  unsigned last;
};
inline SeedRange seed_range(unsigned count) {
  const char* only = std::getenv("LEASE_ELECTOR_SEED");
  const unsigned first = only ? unsigned(std::atoi(only)) : 1;
  return {first, only ? first : count};
}

}  // namespace le::testing
