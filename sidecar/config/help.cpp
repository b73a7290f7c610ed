#include <algorithm>
#include <string>

#include "config/config.h"
#include "config/flags.h"

namespace le::config {
namespace {

// "  --lease-duration DURATION" padded to a column, then the meaning and where else it comes from.
void append_flag(std::string& out, const FlagSpec& spec) {
  // -h is listed with --help rather than on a line of its own.
  std::string head = spec.setting == Setting::help ? "  -h, --help" : "  --" + std::string(spec.name);
  if (!spec.metavar.empty()) head += " " + std::string(spec.metavar);
  constexpr std::size_t column = 30;
  head.resize(std::max(head.size() + 2, column), ' ');
  out += head + std::string(spec.meaning) + "\n";
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
      "                     [--log-format text|json]\n"
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
      "POD_NAMESPACE and POD_NAME are read only as fallbacks for --namespace and --id.\n"
      "\n"
      "Flags of the classic leader-elector sidecar, accepted so its manifests work unchanged\n"
      "(--ttl cannot be combined with the three timing flags above):\n";
  for (const auto& spec : flag_specs()) {
    if (spec.classic) append_flag(out, spec);
  }
  out +=
      "\n"
      "HTTP endpoints: /leader and / (who leads now, for the app), /healthz, /readyz.\n"
      "\n"
      "Exit codes: 0 success (or --help, --version), 1 runtime failure, 2 bad configuration.\n";
  return out;
}

}  // namespace le::config
