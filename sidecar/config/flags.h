#pragma once
// The table of command-line flags: one row per spelling, shared by the parser and --help so the
// two cannot drift apart.
#include <span>
#include <string>
#include <string_view>

namespace le::config {

// What a flag sets. Classic aliases (--election, --election-namespace) set the same setting as
// their modern flag.
enum class Setting {
  lease_name,
  namespace_name,
  identity,
  http,
  kubeconfig,
  lease_duration,
  renew_deadline,
  retry_period,
  release_delay,
  log_level,
  log_format,
  takeover,
  route,
  pod_selector,
  leader_label,
  readiness_gate,
  service,
  endpoint_ports,
  admin_http,
  step_down_hold_off,
  step_down_delay,
  app_health_url,
  app_health_period,
  app_health_timeout,
  app_health_failure_threshold,
  app_health_success_threshold,
  notify_url,
  notify_timeout,
  run_grace,
  run_exit,
  proxy_listen,
  proxy_upstream,
  proxy_mode,
  proxy_follower,
  proxy_trusted_cidrs,
  proxy_connect_timeout,
  proxy_idle_timeout,
  proxy_max_body,
  install_to,               // action: copy this binary to PATH (run mode's init container) and exit
  ttl,                      // classic: derives the three timing settings
  use_cluster_credentials,  // classic: accepted, no effect
  help,
  version,
};

enum class FlagKind {
  value,              // --flag VALUE or --flag=VALUE
  boolean,            // --flag, --flag=true, --flag=false (never --flag VALUE, as in Go's flag package)
  action,             // --help, --version: no value
  action_with_value,  // --install-to PATH: does this one thing and exits, so no other flag is needed
};

struct FlagSpec {
  std::string_view name;  // without dashes
  Setting setting;
  FlagKind kind;
  std::string_view env;  // LEASE_ELECTOR_...; empty for classic aliases and actions
  std::string_view metavar;
  std::string_view default_text;  // for --help; empty when there is no default
  std::string_view meaning;       // one line for --help
  bool classic = false;

  std::string dashed() const { return "--" + std::string(name); }  // for messages
};

std::span<const FlagSpec> flag_specs();

// Looks up a name without dashes, in either its modern or classic spelling.
const FlagSpec* find_flag(std::string_view name);

// The modern row for a setting (the one that names its environment variable).
const FlagSpec& primary_flag(Setting setting);

}  // namespace le::config
