#pragma once
// The validated configuration of one sidecar, from flags and environment variables.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/mode_kind.h"
#include "util/environment.h"
#include "util/logging.h"

namespace le::config {

// The log settings are util/logging.h's; the flags name them.
using util::LogFormat;
using util::LogLevel;
// How followers learn that the Lease is free. poll reproduces client-go v0.20 exactly (for the
// benchmarks): followers read every 1-2.2 retry periods and the leader reads before each renewal.
enum class Takeover { watch, poll };
// How Service traffic reaches only the leader (see README "Routing modes"): the --route flag.
using RouteMode = traffic::ModeKind;

struct EndpointPortSpec {
  std::string name;
  std::uint16_t port = 0;
  std::string protocol = "TCP";
};

struct Config {
  std::string lease_name;
  // --namespace (or the classic --election-namespace); when unset, main resolves it from
  // POD_NAMESPACE, the service-account namespace file, the kubeconfig context, then "default".
  std::optional<std::string> namespace_name;
  // --id; when unset, POD_NAME, then hostname plus a random suffix.
  std::optional<std::string> identity;
  std::string http_host = "0.0.0.0";
  std::uint16_t http_port = 4040;
  std::optional<std::string> kubeconfig;  // --kubeconfig, else KUBECONFIG
  // --admin-http: the control listener (POST /step-down); off unless given. An empty host means
  // loopback here, not every interface: whoever reaches it can move leadership.
  std::optional<std::string> admin_http_host;
  std::uint16_t admin_http_port = 0;

  // Timing, as client-go's LeaderElectionConfig. The lease duration is whole seconds because the
  // Lease stores leaseDurationSeconds and every other replica trusts that number.
  std::chrono::seconds lease_duration{15};
  std::chrono::nanoseconds renew_deadline{std::chrono::seconds{10}};
  std::chrono::nanoseconds retry_period{std::chrono::seconds{2}};
  std::chrono::nanoseconds release_delay{std::chrono::seconds{1}};
  // On a step-down, how long the Lease is kept after leadership is no longer reported: the app is
  // still running and must notice first. --step-down-delay, else the release delay but at least 1 s.
  std::chrono::nanoseconds step_down_delay{std::chrono::seconds{1}};
  // After a step-down that names no hold-off of its own (SIGUSR1, POST /step-down without
  // ?holdoff=), this replica does not campaign for this long.
  std::chrono::nanoseconds step_down_hold_off{std::chrono::seconds{30}};
  Takeover takeover = Takeover::watch;

  RouteMode route = RouteMode::readiness;
  std::string pod_selector;  // required in label and readiness-gate modes
  std::string leader_label_key = "lease-elector.io/leader";
  std::string leader_label_value = "true";
  std::string readiness_gate = "lease-elector.io/leader";
  std::string service;                           // endpoints mode
  std::vector<EndpointPortSpec> endpoint_ports;  // endpoints mode
  // From the Downward API: POD_NAME (label, readiness-gate, endpoints) and POD_IP (endpoints).
  std::string pod_name;
  std::string pod_ip;
  // POD_UID (metadata.uid): with POD_NAME, Events are recorded on this Pod too (kubectl describe
  // finds an object's Events by its uid). Optional in every mode.
  std::string pod_uid;

  // --app-health-url and its settings: this replica campaigns only while its app answers 2xx, and
  // a leader whose app fails steps down. Off unless the URL is given.
  struct AppHealth {
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";
    std::string url;  // as given, for logs
    std::chrono::nanoseconds period{std::chrono::seconds{2}};
    std::chrono::nanoseconds timeout{std::chrono::seconds{1}};
    int failure_threshold = 3;
    int success_threshold = 1;
  };
  std::optional<AppHealth> app_health;

  // --notify-url: POST the /leader answer to the app on every change. Off unless given.
  struct Notify {
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";
    std::string url;
    std::chrono::nanoseconds timeout{std::chrono::seconds{2}};
  };
  std::optional<Notify> notify;

  // Run mode, `lease-elector [flags] -- COMMAND ARGS...`: COMMAND runs only while this replica
  // leads. Off without a command.
  struct Run {
    std::vector<std::string> command;
    std::chrono::nanoseconds grace{std::chrono::seconds{5}};           // --run-grace
    enum class OnExit { restart, release } on_exit = OnExit::restart;  // --run-exit
  };
  std::optional<Run> run;

  // --route proxy: the sidecar's proxy takes the Service's traffic on every replica and sends each
  // request (or connection) to the leader's app (sidecar/proxy/).
  struct Proxy {
    enum class Mode { http, tcp } mode = Mode::http;
    // What a follower does with a request: pass it to the leader's proxy (whose address the leader
    // writes into the Lease), answer 503, or answer 307 with the leader's address.
    enum class Follower { forward, reject, redirect } follower = Follower::forward;
    std::string listen_host = "0.0.0.0";
    std::uint16_t listen_port = 4080;
    std::string upstream_host;  // the app, normally on loopback
    std::uint16_t upstream_port = 0;
    // Peers whose Forwarded, X-Forwarded-* and hop headers are believed (another replica's proxy
    // is always believed for the hop header: it proves itself by the term it names).
    std::vector<std::string> trusted_cidrs;
    std::chrono::nanoseconds connect_timeout{std::chrono::seconds{5}};
    std::chrono::nanoseconds idle_timeout{std::chrono::seconds{60}};
    std::uint64_t max_body = 0;  // bytes; 0: no limit
  };
  std::optional<Proxy> proxy;

  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
};

struct ParseOutcome {
  enum class Action { run, help, version, install, error };
  Action action = Action::error;
  Config config;
  // For help: the help text. For install: the PATH. For error: a message that names the offending
  // flag or variable.
  std::string message;
  // Non-fatal notes to log once logging is set up (e.g. "--use-cluster-credentials has no effect").
  std::vector<std::string> notes;
};

// args excludes argv[0]. Flags win over environment variables.
ParseOutcome parse_command_line(const std::vector<std::string>& args, const util::Environment& env);

std::string help_text();

// Added: "lease-elector 0.1.0" (the CMake project version); also the message of Action::version.
std::string version_text();

// Added: the spellings the flags accept ("info", "warn", "json", ...), for logs and messages.
std::string_view to_string(RouteMode mode);

}  // namespace le::config
