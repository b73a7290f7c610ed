#include "config/run_mode.h"

#include <chrono>

#include "config/flags.h"
#include "util/duration.h"

namespace le::config {
namespace {

using std::chrono::nanoseconds;

}  // namespace

std::optional<std::string> resolve_run_mode(const RawSettings& raw, const std::vector<std::string>& command,
                                            Config& config) {
  if (command.empty()) {
    for (const Setting setting : {Setting::run_grace, Setting::run_exit}) {
      if (const RawValue* given = find(raw, setting)) {
        return given->source + " needs a command to run: lease-elector [flags] -- COMMAND ARGS...";
      }
    }
    return std::nullopt;
  }
  if (config.app_health) {
    // Followers would have no app to probe, and nobody would ever lead.
    return "--app-health-url cannot be used with run mode (-- " + command.front() +
           "): the command runs only on the leader, so a follower has no app whose health it could check";
  }
  if (config.notify) {
    return "--notify-url cannot be used with run mode (-- " + command.front() +
           "): the command runs only while this replica leads, and is told so by its start and by SIGTERM";
  }
  Config::Run run;
  run.command = command;
  if (const RawValue* v = find(raw, Setting::run_grace)) {
    const auto parsed = util::parse_go_duration(v->text);
    if (!parsed) return cite(*v) + " is not a duration: use Go syntax such as 500ms, 2s or 1m";
    if (*parsed <= nanoseconds::zero()) return cite(*v) + " must be greater than zero";
    run.grace = *parsed;
  }
  // SIGTERM comes the grace before the renew deadline: it must leave room for two retries first,
  // or every renewal that needs one retry would already stop the command.
  const nanoseconds room = config.renew_deadline - 2 * config.retry_period;
  if (run.grace >= room) {
    const std::string grace_source = find(raw, Setting::run_grace) != nullptr
                                         ? cite(*find(raw, Setting::run_grace))
                                         : "--run-grace (default 5s)";
    return grace_source + " must be below the renew deadline minus two retry periods (" +
           util::format_go_duration(config.renew_deadline) + " - 2 x " +
           util::format_go_duration(config.retry_period) + " = " + util::format_go_duration(room) +
           "): shorten it or lengthen --renew-deadline";
  }
  if (const RawValue* v = find(raw, Setting::run_exit)) {
    if (v->text == "restart") {
      run.on_exit = Config::Run::OnExit::restart;
    } else if (v->text == "release") {
      run.on_exit = Config::Run::OnExit::release;
    } else {
      return cite(*v) + " is not a choice: use restart or release";
    }
  }
  config.run = std::move(run);
  return std::nullopt;
}

}  // namespace le::config
