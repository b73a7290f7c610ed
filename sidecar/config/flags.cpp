#include "config/flags.h"

#include <array>
#include <stdexcept>

namespace le::config {
namespace {

// The defaults shown here must match Config's member initialisers: test_config_parse checks both
// the parsed defaults and these texts.
constexpr std::array specs{
    FlagSpec{"lease-name", Setting::lease_name, FlagKind::value, "LEASE_ELECTOR_LEASE_NAME", "NAME", "",
             "the Lease the replicas compete for (required)"},
    FlagSpec{"namespace", Setting::namespace_name, FlagKind::value, "LEASE_ELECTOR_NAMESPACE", "NS",
             "POD_NAMESPACE, else the pod's", "namespace of the Lease"},
    FlagSpec{"id", Setting::identity, FlagKind::value, "LEASE_ELECTOR_ID", "ID",
             "POD_NAME, else hostname + random suffix",
             "this replica's holderIdentity in the Lease; unique per replica"},
    FlagSpec{"http", Setting::http, FlagKind::value, "LEASE_ELECTOR_HTTP", "ADDR:PORT", "0.0.0.0:4040",
             "HTTP listen address (':4040' = all IPv4, '[::]:4040' = all IPv6)"},
    FlagSpec{"kubeconfig", Setting::kubeconfig, FlagKind::value, "LEASE_ELECTOR_KUBECONFIG", "PATH",
             "KUBECONFIG, else in-cluster", "kubeconfig file, to run outside a cluster"},
    FlagSpec{"lease-duration", Setting::lease_duration, FlagKind::value, "LEASE_ELECTOR_LEASE_DURATION",
             "DURATION", "15s", "followers take over this long after the last renewal (whole seconds)"},
    FlagSpec{"renew-deadline", Setting::renew_deadline, FlagKind::value, "LEASE_ELECTOR_RENEW_DEADLINE",
             "DURATION", "10s", "a leader that cannot renew for this long steps down (< lease duration)"},
    FlagSpec{"retry-period", Setting::retry_period, FlagKind::value, "LEASE_ELECTOR_RETRY_PERIOD", "DURATION",
             "2s", "pause between tries to acquire or renew"},
    FlagSpec{"release-delay", Setting::release_delay, FlagKind::value, "LEASE_ELECTOR_RELEASE_DELAY",
             "DURATION", "1s", "on SIGTERM, time from stepping down to releasing the Lease"},
    FlagSpec{"takeover", Setting::takeover, FlagKind::value, "LEASE_ELECTOR_TAKEOVER", "MODE", "watch",
             "watch (act the moment the Lease frees up) or poll (as client-go v0.20)"},
    FlagSpec{"log-level", Setting::log_level, FlagKind::value, "LEASE_ELECTOR_LOG_LEVEL", "LEVEL", "info",
             "trace, debug, info, warn, error or off"},
    FlagSpec{"log-format", Setting::log_format, FlagKind::value, "LEASE_ELECTOR_LOG_FORMAT", "FORMAT", "text",
             "text, or json for one JSON object per line"},
    FlagSpec{"route", Setting::route, FlagKind::value, "LEASE_ELECTOR_ROUTE", "MODE", "readiness",
             "readiness, label, endpoints or readiness-gate (see below)"},
    FlagSpec{"pod-selector", Setting::pod_selector, FlagKind::value, "LEASE_ELECTOR_POD_SELECTOR", "LABELS",
             "", "the workload's Pod labels, e.g. app=myapp (label, readiness-gate)"},
    FlagSpec{"leader-label", Setting::leader_label, FlagKind::value, "LEASE_ELECTOR_LEADER_LABEL",
             "KEY=VALUE", "lease-elector.io/leader=true",
             "label mode: the label only the leader's Pod carries"},
    FlagSpec{"readiness-gate", Setting::readiness_gate, FlagKind::value, "LEASE_ELECTOR_READINESS_GATE",
             "TYPE", "lease-elector.io/leader",
             "readiness-gate mode: the Pod condition the leader sets True"},
    FlagSpec{"service", Setting::service, FlagKind::value, "LEASE_ELECTOR_SERVICE", "NAME", "",
             "endpoints mode: the Service without a selector to route"},
    FlagSpec{"endpoint-ports", Setting::endpoint_ports, FlagKind::value, "LEASE_ELECTOR_ENDPOINT_PORTS",
             "LIST", "", "endpoints mode: name:port[/protocol],... e.g. http:8080/TCP"},
    FlagSpec{"proxy-listen", Setting::proxy_listen, FlagKind::value, "LEASE_ELECTOR_PROXY_LISTEN",
             "ADDR:PORT", "0.0.0.0:4080", "proxy mode: where the Service sends traffic, on every replica"},
    FlagSpec{"proxy-upstream", Setting::proxy_upstream, FlagKind::value, "LEASE_ELECTOR_PROXY_UPSTREAM",
             "HOST:PORT", "", "proxy mode: the app, on loopback, e.g. 127.0.0.1:8080 (required)"},
    FlagSpec{"proxy-mode", Setting::proxy_mode, FlagKind::value, "LEASE_ELECTOR_PROXY_MODE", "http|tcp",
             "http", "proxy mode: HTTP/1.1 requests, or whole TCP connections"},
    FlagSpec{"proxy-follower", Setting::proxy_follower, FlagKind::value, "LEASE_ELECTOR_PROXY_FOLLOWER",
             "MODE", "forward", "proxy mode, on a follower: forward, reject (503) or redirect (307)"},
    FlagSpec{"proxy-trusted-cidrs", Setting::proxy_trusted_cidrs, FlagKind::value,
             "LEASE_ELECTOR_PROXY_TRUSTED_CIDRS", "LIST", "none",
             "proxy mode: peers whose X-Forwarded-* and Forwarded are kept"},
    FlagSpec{"proxy-connect-timeout", Setting::proxy_connect_timeout, FlagKind::value,
             "LEASE_ELECTOR_PROXY_CONNECT_TIMEOUT", "DURATION", "5s", "proxy mode: connecting to the app"},
    FlagSpec{"proxy-idle-timeout", Setting::proxy_idle_timeout, FlagKind::value,
             "LEASE_ELECTOR_PROXY_IDLE_TIMEOUT", "DURATION", "60s",
             "proxy mode: close an exchange idle this long"},
    FlagSpec{"proxy-max-body", Setting::proxy_max_body, FlagKind::value, "LEASE_ELECTOR_PROXY_MAX_BODY",
             "BYTES", "0", "proxy mode: largest request body (413 beyond; 0 = no limit; 10Mi)"},
    FlagSpec{"admin-http", Setting::admin_http, FlagKind::value, "LEASE_ELECTOR_ADMIN_HTTP", "ADDR:PORT",
             "off", "control listener for POST /step-down (':4041' = loopback)"},
    FlagSpec{"step-down-delay", Setting::step_down_delay, FlagKind::value, "LEASE_ELECTOR_STEP_DOWN_DELAY",
             "DURATION", "release delay, >= 1s", "on a step-down, time from stepping down to releasing"},
    FlagSpec{"step-down-holdoff", Setting::step_down_hold_off, FlagKind::value,
             "LEASE_ELECTOR_STEP_DOWN_HOLDOFF", "DURATION", "30s", "no campaign this long after a step-down"},
    FlagSpec{"app-health-url", Setting::app_health_url, FlagKind::value, "LEASE_ELECTOR_APP_HEALTH_URL",
             "URL", "off", "campaign only while GET URL answers 2xx (http://localhost:PORT/PATH)"},
    FlagSpec{"app-health-period", Setting::app_health_period, FlagKind::value,
             "LEASE_ELECTOR_APP_HEALTH_PERIOD", "DURATION", "2s",
             "time between two checks of the app's health"},
    FlagSpec{"app-health-timeout", Setting::app_health_timeout, FlagKind::value,
             "LEASE_ELECTOR_APP_HEALTH_TIMEOUT", "DURATION", "1s", "a check not answered within this fails"},
    FlagSpec{"app-health-failure-threshold", Setting::app_health_failure_threshold, FlagKind::value,
             "LEASE_ELECTOR_APP_HEALTH_FAILURE_THRESHOLD", "N", "3", "failed checks in a row: unhealthy"},
    FlagSpec{"app-health-success-threshold", Setting::app_health_success_threshold, FlagKind::value,
             "LEASE_ELECTOR_APP_HEALTH_SUCCESS_THRESHOLD", "N", "1", "good checks in a row: healthy again"},
    FlagSpec{"notify-url", Setting::notify_url, FlagKind::value, "LEASE_ELECTOR_NOTIFY_URL", "URL", "off",
             "POST the /leader answer here on every change (http://HOST:PORT/PATH)"},
    FlagSpec{"notify-timeout", Setting::notify_timeout, FlagKind::value, "LEASE_ELECTOR_NOTIFY_TIMEOUT",
             "DURATION", "2s", "a webhook POST not answered within this fails (and is retried)"},
    FlagSpec{"run-grace", Setting::run_grace, FlagKind::value, "LEASE_ELECTOR_RUN_GRACE", "DURATION", "5s",
             "run mode: SIGTERM this long before SIGKILL"},
    FlagSpec{"run-exit", Setting::run_exit, FlagKind::value, "LEASE_ELECTOR_RUN_EXIT", "restart|release",
             "restart", "run mode: an exit while leading restarts it, or steps down"},
    FlagSpec{"install-to", Setting::install_to, FlagKind::action_with_value, "", "PATH", "",
             "copy this binary to PATH and exit (run mode, no image change)"},
    FlagSpec{"help", Setting::help, FlagKind::action, "", "", "", "print this help and exit"},
    FlagSpec{"h", Setting::help, FlagKind::action, "", "", "", "same as --help"},
    FlagSpec{"version", Setting::version, FlagKind::action, "", "", "", "print the version and exit"},

    // The classic leader-elector sidecar's flags, so its manifests work unchanged.
    FlagSpec{"election", Setting::lease_name, FlagKind::value, "", "NAME", "", "same as --lease-name", true},
    FlagSpec{"election-namespace", Setting::namespace_name, FlagKind::value, "", "NS", "",
             "same as --namespace", true},
    FlagSpec{"ttl", Setting::ttl, FlagKind::value, "", "DURATION", "",
             "whole seconds: lease duration TTL, renew deadline TTL/2, retry TTL/4", true},
    FlagSpec{"use-cluster-credentials", Setting::use_cluster_credentials, FlagKind::boolean, "", "", "",
             "ignored: in-cluster credentials apply whenever no kubeconfig is given", true},
};

}  // namespace

std::span<const FlagSpec> flag_specs() { return specs; }

const FlagSpec* find_flag(std::string_view name) {
  for (const auto& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec& primary_flag(Setting setting) {
  for (const auto& spec : specs) {
    if (spec.setting == setting && !spec.classic) return spec;
  }
  for (const auto& spec : specs) {
    if (spec.setting == setting) return spec;
  }
  throw std::logic_error("no flag for setting");
}

}  // namespace le::config
