#include <algorithm>
#include <string>

#include <spdlog/fmt/fmt.h>

#include "config/config.h"
#include "config/flags.h"
#include "election/timing_rules.h"
#include "util/duration.h"

namespace le::config {
namespace {

using util::format_go_duration;

// The limit config/timing.cpp enforces on a flag, printed from the same constants so that --help
// cannot drift from the check.
std::string timing_rule(Setting setting) {
  namespace timing = election::timing;
  switch (setting) {
    case Setting::retry_period:
      return " (" + fmt::format("{}", timing::kJitterFactor) + " x it < renew deadline)";
    case Setting::release_delay:
      return " (<= " + format_go_duration(timing::kMaxReleaseDelay) + ")";
    case Setting::step_down_delay:
      return " (<= " + format_go_duration(timing::kMaxStepDownDelay) + ")";
    case Setting::step_down_hold_off:
      return " (<= " + format_go_duration(timing::kMaxStepDownHoldOff) + ")";
    default:
      return "";
  }
}

// "  --lease-duration DURATION" padded to a column, then the meaning and where else it comes from.
void append_flag(std::string& out, const FlagSpec& spec) {
  // -h is listed with --help rather than on a line of its own.
  std::string head = spec.setting == Setting::help ? "  -h, --help" : "  --" + std::string(spec.name);
  if (!spec.metavar.empty()) head += " " + std::string(spec.metavar);
  constexpr std::size_t column = 30;
  head.resize(std::max(head.size() + 2, column), ' ');
  out += head + std::string(spec.meaning) + timing_rule(spec.setting) + "\n";
  const std::string indent(column, ' ');
  if (!spec.env.empty()) out += indent + "env " + std::string(spec.env);
  if (!spec.default_text.empty())
    out += (spec.env.empty() ? indent : "; ") + "default " + std::string(spec.default_text);
  if (!spec.env.empty() || !spec.default_text.empty()) out += "\n";
}

}  // namespace

std::string help_text() {
  std::string out =
      "Usage: lease-elector --lease-name NAME [--namespace NS] [--id ID] [--http ADDR:PORT]\n"
      "                     [--kubeconfig PATH] [--lease-duration 15s] [--renew-deadline 10s]\n"
      "                     [--retry-period 2s] [--release-delay 1s] [--log-level info]\n"
      "                     [--log-format text|json] [--route MODE] [--pod-selector LABELS]\n"
      "                     [--leader-label KEY=VALUE] [--readiness-gate TYPE] [--service NAME]\n"
      "                     [--endpoint-ports LIST] [--admin-http ADDR:PORT]\n"
      "                     [--step-down-delay DURATION] [--step-down-holdoff 30s]\n"
      "                     [--app-health-url URL] [--app-health-period 2s] [--app-health-timeout 1s]\n"
      "                     [--app-health-failure-threshold 3] [--app-health-success-threshold 1]\n"
      "                     [--notify-url URL] [--notify-timeout 2s]\n"
      "                     [--run-grace 5s] [--run-exit restart|release] [-- COMMAND ARGS...]\n"
      "       lease-elector --install-to PATH\n"
      "\n"
      "Elects one leader among the replicas of a Deployment through a coordination.k8s.io/v1 Lease\n"
      "(compatible with client-go's leader election) and tells the app next to it who leads.\n"
      "\n"
      "Flags (also -flag, and --flag=value; a flag wins over its environment variable):\n";
  for (const auto& spec : flag_specs()) {
    if (!spec.classic && spec.name != "h") append_flag(out, spec);
  }
  out +=
      "\n"
      "Durations use Go syntax: 300ms, 1.5s, 2m30s, 1h. The lease duration is whole seconds.\n"
      "POD_NAMESPACE and POD_NAME are read as fallbacks for --namespace and --id.\n"
      "Kubernetes Events (\"<id> became leader\", \"<id> stopped leading\", warnings) go to the Lease,\n"
      "and to this Pod too when POD_NAME and POD_UID (fieldRef metadata.uid) are set; the Role\n"
      "needs create and patch on events (without them the election runs the same).\n"
      "\n"
      "Routing modes (--route), how Service traffic reaches only the leader:\n"
      "  readiness       /readyz is 200 only on the leader (the Pod is Ready only there).\n"
      "  label           the leader labels its Pod (--leader-label); the Service selects it.\n"
      "                  Needs --pod-selector and POD_NAME; RBAC pods get, list, patch.\n"
      "  endpoints       the leader writes its POD_IP into the EndpointSlice of a Service without a\n"
      "                  selector. Needs --service, --endpoint-ports, POD_NAME and POD_IP;\n"
      "                  RBAC discovery.k8s.io endpointslices get, create, update.\n"
      "  readiness-gate  the leader sets a Pod condition (--readiness-gate) listed in the Pods'\n"
      "                  spec.readinessGates. Needs --pod-selector and POD_NAME; RBAC pods get,\n"
      "                  list and pods/status patch.\n"
      "  proxy           the sidecar's proxy (--proxy-listen, every replica; the Service targets it)\n"
      "                  passes requests to the app (--proxy-upstream) only while this replica\n"
      "                  leads, and resets every exchange the instant its term ends; a follower\n"
      "                  forwards to the leader's proxy (its address is in the Lease). Needs\n"
      "                  --proxy-upstream and POD_IP; no RBAC. Every Pod stays Ready.\n"
      "Before routing to itself a new leader fences every other Pod of the workload; every write\n"
      "that routes traffic is conditional on the resourceVersion it read.\n"
      "\n"
      "Flags of the classic leader-elector sidecar, accepted so its manifests work unchanged\n"
      "(--ttl cannot be combined with the three timing flags above):\n";
  for (const auto& spec : flag_specs()) {
    if (spec.classic) append_flag(out, spec);
  }
  out +=
      "\n"
      "HTTP endpoints: /leader and / (who leads now, for the app), /healthz, /readyz, /metrics\n"
      "(Prometheus text format; leader_election_master_status as client-go names it).\n"
      "Pushed: /leader?index=N&wait=30s answers once the answer differs from answer N (long\n"
      "poll); /leader/stream sends every change as server-sent events. The main listener never\n"
      "accepts a POST.\n"
      "\n"
      "Stepping down: POST /step-down?holdoff=30s on the --admin-http listener, or SIGUSR1 (with\n"
      "--step-down-holdoff), makes the leader stop reporting leadership at once, keep the Lease for\n"
      "--step-down-delay, release it, and not campaign again for the hold-off. A replica that does\n"
      "not lead answers 409.\n"
      "\n"
      "With --app-health-url a replica campaigns only while its app answers 2xx (checked as the\n"
      "kubelet's httpGet probe checks); a leader whose app fails the threshold steps down as above.\n"
      "When every app is unhealthy, nobody leads.\n"
      "\n"
      "With --notify-url the answer of /leader is POSTed to the app on every change (a leader's\n"
      "again halfway to the end of its validity), retried with back-off, the newest answer first.\n"
      "\n"
      "Run mode: lease-elector [flags] -- COMMAND ARGS... runs COMMAND only while this replica\n"
      "leads, with LEASE_ELECTOR_IDENTITY, _LEASE, _FENCING_TOKEN and _VALID_UNTIL_BOOTTIME_NS set.\n"
      "It is gone before any other replica can lead: on a step-down or SIGTERM it gets SIGTERM at\n"
      "once (SIGKILL after --run-grace) and the Lease is released only after it has exited; when\n"
      "renewals fail it gets SIGTERM --run-grace before the renew deadline and SIGKILL at it.\n"
      "\n"
      "Exit codes: 0 success (or --help, --version), 1 runtime failure, 2 bad configuration.\n";
  return out;
}

}  // namespace le::config
