#include "config/timing.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include <spdlog/fmt/fmt.h>

#include "election/timing_rules.h"
#include "util/duration.h"

namespace le::config {
namespace {

using util::format_go_duration;
using util::parse_go_duration;

using std::chrono::nanoseconds;
using std::chrono::seconds;

// The limits themselves (client-go's jitter, the shutdown arithmetic) are election::timing's.
namespace timing = election::timing;

// One timing value with the name messages use for it.
struct Timing {
  nanoseconds value{};
  std::string source;  // the flag or variable, or the default's flag name
};

std::string show(const Timing& t) { return t.source + " (" + format_go_duration(t.value) + ")"; }

std::optional<std::string> parse(const RawValue& raw, nanoseconds& out) {
  if (const auto d = parse_go_duration(raw.text)) {
    out = *d;
    return std::nullopt;
  }
  std::string message = cite(raw) + " is not a duration: use Go syntax such as 300ms, 1.5s or 2m30s";
  if (!raw.text.empty() && raw.text.find_first_not_of("0123456789") == std::string::npos) {
    message += " (a unit is required: \"" + raw.text + "s\"?)";
  }
  return message;
}

// Lease durations are whole seconds: see the message.
std::optional<std::string> check_whole_seconds(const RawValue& raw, nanoseconds value) {
  if (value < seconds{1} || value % seconds{1} != nanoseconds{0}) {
    return cite(raw) +
           " must be a whole number of seconds, at least 1s: the Lease stores leaseDurationSeconds as whole "
           "seconds and every other replica trusts that number; rounding down would let a follower take "
           "over before this leader steps down";
  }
  // leaseDurationSeconds is an int32 in the Lease API.
  if (value > seconds{std::numeric_limits<std::int32_t>::max()}) {
    return cite(raw) + " is too long: leaseDurationSeconds is a 32-bit number of seconds";
  }
  return std::nullopt;
}

// Reads one setting, or keeps the default (cited by its flag name).
std::optional<std::string> read(const RawSettings& raw, Setting setting, Timing& t) {
  t.source = "--" + std::string(primary_flag(setting).name);
  const auto it = raw.values.find(setting);
  if (it == raw.values.end()) return std::nullopt;
  t.source = it->second.source;
  return parse(it->second, t.value);
}

}  // namespace

std::optional<std::string> resolve_timing(const RawSettings& raw, Config& config) {
  Timing lease{config.lease_duration, {}};
  Timing renew{config.renew_deadline, {}};
  Timing retry{config.retry_period, {}};
  Timing release{config.release_delay, {}};

  if (const auto ttl_raw = raw.values.find(Setting::ttl); ttl_raw != raw.values.end()) {
    // The classic leader-elector image derived all three from its --ttl this way.
    nanoseconds ttl{};
    if (auto error = parse(ttl_raw->second, ttl)) return error;
    if (auto error = check_whole_seconds(ttl_raw->second, ttl)) return error;
    lease = {ttl, "--ttl"};
    renew = {ttl / 2, "--ttl"};
    retry = {ttl / 4, "--ttl"};
  } else {
    for (auto [setting, timing] :
         {std::pair{Setting::lease_duration, &lease}, std::pair{Setting::renew_deadline, &renew},
          std::pair{Setting::retry_period, &retry}}) {
      if (auto error = read(raw, setting, *timing)) return error;
    }
    if (const auto it = raw.values.find(Setting::lease_duration); it != raw.values.end()) {
      if (auto error = check_whole_seconds(it->second, lease.value)) return error;
    }
  }
  if (auto error = read(raw, Setting::release_delay, release)) return error;

  if (renew.value <= nanoseconds{0}) return show(renew) + " must be greater than zero";
  if (retry.value <= nanoseconds{0}) return show(retry) + " must be greater than zero";
  if (release.value < nanoseconds{0}) return show(release) + " must not be negative";
  if (release.value > timing::kMaxReleaseDelay) {
    return show(release) + " must be at most " + format_go_duration(timing::kMaxReleaseDelay) +
           ": Kubernetes kills a pod " + format_go_duration(timing::kTerminationGracePeriod) +
           " after SIGTERM by default, and the sidecar must also release the Lease and exit within that";
  }

  // Read after the release delay is known good: the step-down delay defaults to it, but never to
  // less than a second, since the app keeps running through a step-down (a native sidecar's
  // release delay of 0s is only right because its app has stopped before SIGTERM).
  Timing step_down_delay{std::max<nanoseconds>(release.value, timing::kMinDefaultStepDownDelay), {}};
  if (auto error = read(raw, Setting::step_down_delay, step_down_delay)) return error;
  if (step_down_delay.value < nanoseconds{0}) return show(step_down_delay) + " must not be negative";
  if (step_down_delay.value > timing::kMaxStepDownDelay) {
    return show(step_down_delay) + " must be at most " + format_go_duration(timing::kMaxStepDownDelay);
  }
  Timing hold_off{config.step_down_hold_off, {}};
  if (auto error = read(raw, Setting::step_down_hold_off, hold_off)) return error;
  if (auto error = timing::check_step_down_hold_off(hold_off.value)) return show(hold_off) + " " + *error;

  // client-go's NewLeaderElector checks: the leader gives up before its lease can expire for the
  // others, and its last jittered retry still falls inside the renew deadline.
  if (!timing::renew_deadline_fits_lease(lease.value, renew.value)) {
    return show(renew) + " must be less than " + show(lease);
  }
  if (!timing::retry_fits_renew_deadline(renew.value, retry.value)) {
    return show(retry) + " times " + fmt::format("{}", timing::kJitterFactor) +
           " (client-go's retry jitter) must be less than " + show(renew);
  }

  config.lease_duration = std::chrono::duration_cast<seconds>(lease.value);
  config.renew_deadline = renew.value;
  config.retry_period = retry.value;
  config.release_delay = release.value;
  config.step_down_hold_off = hold_off.value;
  config.step_down_delay = step_down_delay.value;
  return std::nullopt;
}

}  // namespace le::config
