// The elector's part in shutdown: stop reporting leadership, then hand the Lease back.
#include "election/elector.h"

#include <spdlog/spdlog.h>

namespace le::election {

using namespace std::chrono;
using util::to_micro;

void Elector::begin_stopping(BootTime deadline) {
  if (!shutdown_.begin(deadline)) return;
  if (holds()) spdlog::info("stopping: no longer reporting leadership of {}", lease_);
  set_status("stopping");
  publish();
}

bool Elector::release() {
  if (!holds()) {
    spdlog::info("not releasing {}: this replica does not hold it", lease_);
    return false;
  }
  if (const auto leading_not_before = terms_.leading_not_before();
      leading_not_before && clock_.boot_now() < *leading_not_before) {
    spdlog::info(
        "not releasing {}: this replica created it too recently (a leader of the deleted Lease may "
        "still lead); it will expire instead",
        lease_);
    return false;
  }
  // client-go's release record: no holder, a one-second lease, times now, transitions unchanged.
  const auto make_release = [&](const LeaderRecord& from) {
    LeaderRecord record;
    record.holder_identity = "";
    record.lease_duration = seconds{1};
    record.acquire_time = record.renew_time = to_micro(clock_.wall_now());
    record.lease_transitions = from.lease_transitions;
    return record;
  };
  auto result = store_.update(*observed_, make_release(observed_->record), timeout_for_request());
  if (!result.ok() && result.is(ApiErrorKind::conflict)) {
    // Someone changed the object since our last write. Only if it is still our record (say, a label
    // was edited) and we still hold it may we release; a deposed leader must never wipe a new
    // holder's record, which is what judging by a stale observed record would do.
    auto fresh = store_.get(timeout_for_request());
    if (!fresh.ok()) {
      spdlog::warn("release of {} abandoned: re-read failed: {}", lease_, fresh.error().describe());
      return false;
    }
    observe(fresh.value(), clock_.boot_now());
    if (!terms_.ours() || !holds()) {
      spdlog::info("release of {} abandoned: it is now held by {}", lease_,
                   describe_holder(observed_->record));
      return false;
    }
    result = store_.update(*observed_, make_release(observed_->record), timeout_for_request());
  }
  if (!result.ok()) {
    spdlog::warn("release of {} failed: {}; it will expire instead", lease_, result.error().describe());
    return false;
  }
  observe(result.value(), clock_.boot_now());
  terms_.disown();
  spdlog::info("released lease {}", lease_);
  set_status("released");
  publish();
  return true;
}

}  // namespace le::election
