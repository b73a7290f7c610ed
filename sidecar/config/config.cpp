#include "config/config.h"

#include <array>
#include <utility>

#include "config/app_health.h"
#include "config/arguments.h"
#include "config/http_address.h"
#include "config/kube_names.h"
#include "config/proxy.h"
#include "config/routing.h"
#include "config/run_mode.h"
#include "config/sources.h"
#include "config/timing.h"
#include "util/version.h"

namespace le::config {
namespace {

constexpr std::array takeovers{std::pair{Takeover::watch, "watch"}, std::pair{Takeover::poll, "poll"}};

template <typename Table>
auto lookup(const Table& table, std::string_view name) -> std::optional<decltype(table[0].first)> {
  for (const auto& [value, spelling] : table) {
    if (name == spelling) return value;
  }
  return std::nullopt;
}

// Everything but timing (timing.cpp). Returns the error message, if any.
std::optional<std::string> resolve_fields(const RawSettings& raw, Config& config) {
  // An empty value (--id= or --id "") is never meant; the environment already treats "" as unset.
  for (const auto& [setting, value] : raw.values) {
    if (value.text.empty()) return "flag " + value.source + " needs a value";
  }

  if (const auto* v = find(raw, Setting::lease_name)) {
    if (!is_dns1123_subdomain(v->text)) {
      return cite(*v) +
             " is not a valid Lease name: use lowercase letters, digits, '-' and '.', at most 253 "
             "characters, starting and ending with a letter or digit";
    }
    config.lease_name = v->text;
  } else {
    return "--lease-name is required (or --election, or LEASE_ELECTOR_LEASE_NAME)";
  }

  if (const auto* v = find(raw, Setting::namespace_name)) {
    if (!is_dns1123_label(v->text)) {
      return cite(*v) +
             " is not a valid namespace: use lowercase letters, digits and '-', at most 63 characters, "
             "starting and ending with a letter or digit";
    }
    config.namespace_name = v->text;
  }

  if (const auto* v = find(raw, Setting::identity)) config.identity = v->text;
  if (const auto* v = find(raw, Setting::kubeconfig)) config.kubeconfig = v->text;

  if (const auto* v = find(raw, Setting::http)) {
    const auto address = parse_http_address(v->text);
    if (!address) {
      return cite(*v) +
             " is not a listen address: use ADDR:PORT such as 0.0.0.0:4040, :4040, "
             "localhost:4040 or [::1]:4040, with a port from 0 to 65535";
    }
    config.http_host = address->host;
    config.http_port = address->port;
  }

  if (const auto* v = find(raw, Setting::admin_http)) {
    const bool loopback_shorthand = !v->text.empty() && v->text.front() == ':';
    const auto address = parse_http_address(loopback_shorthand ? "127.0.0.1" + v->text : v->text);
    if (!address) {
      return cite(*v) +
             " is not a listen address: use ADDR:PORT such as 127.0.0.1:4041, :4041 (loopback) or "
             "[::1]:4041, with a port from 0 to 65535";
    }
    config.admin_http_host = address->host;
    config.admin_http_port = address->port;
    // Caught here, with exit 2 naming the flag, rather than as a bind failure at start-up.
    const auto wildcard = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
    if (address->port != 0 && address->port == config.http_port &&
        (address->host == config.http_host || wildcard(address->host) || wildcard(config.http_host))) {
      return cite(*v) + " uses the port of --http (" + std::to_string(config.http_port) +
             "): the control listener needs a port of its own";
    }
  }

  if (const auto* v = find(raw, Setting::log_level)) {
    const auto level = lookup(util::kLogLevels, v->text);
    if (!level) return cite(*v) + " is not a log level: use trace, debug, info, warn, error or off";
    config.log_level = *level;
  }
  if (const auto* v = find(raw, Setting::log_format)) {
    const auto format = lookup(util::kLogFormats, v->text);
    if (!format) return cite(*v) + " is not a log format: use text or json";
    config.log_format = *format;
  }
  if (const auto* v = find(raw, Setting::takeover)) {
    const auto takeover = lookup(takeovers, v->text);
    if (!takeover) return cite(*v) + " is not a takeover mode: use watch or poll";
    config.takeover = *takeover;
  }
  return std::nullopt;
}

ParseOutcome error_outcome(std::string message) {
  ParseOutcome outcome;
  outcome.action = ParseOutcome::Action::error;
  outcome.message = std::move(message);
  return outcome;
}

}  // namespace

ParseOutcome parse_command_line(const std::vector<std::string>& args, const util::Environment& env) {
  const auto scanned = scan_arguments(args);
  if (scanned.error) return error_outcome(*scanned.error);
  if (scanned.action == Setting::help) {
    return ParseOutcome{ParseOutcome::Action::help, Config{}, help_text(), {}};
  }
  if (scanned.action == Setting::version) {
    return ParseOutcome{ParseOutcome::Action::version, Config{}, version_text(), {}};
  }
  if (scanned.action == Setting::install_to) {
    return ParseOutcome{ParseOutcome::Action::install, Config{}, scanned.action_value, {}};
  }

  auto raw = collect_settings(scanned.uses, env);
  if (raw.error) return error_outcome(*raw.error);

  ParseOutcome outcome;
  if (auto error = resolve_fields(raw, outcome.config)) return error_outcome(*error);
  if (auto error = resolve_timing(raw, outcome.config)) return error_outcome(*error);
  if (auto error = resolve_routing(raw, env, outcome.config, raw.notes)) return error_outcome(*error);
  if (auto error = resolve_proxy(raw, outcome.config)) return error_outcome(*error);
  if (auto error = resolve_app_health(raw, outcome.config)) return error_outcome(*error);
  if (auto error = resolve_notify(raw, outcome.config)) return error_outcome(*error);
  if (auto error = resolve_run_mode(raw, scanned.command, outcome.config)) return error_outcome(*error);
  outcome.action = ParseOutcome::Action::run;
  outcome.notes = std::move(raw.notes);
  return outcome;
}

std::string version_text() { return std::string("lease-elector ") + util::kVersion; }

}  // namespace le::config
