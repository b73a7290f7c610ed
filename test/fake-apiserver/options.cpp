#include "options.h"

#include "kube_version.h"

#include <functional>
#include <map>

namespace fake {

const char* usage() {
  return R"(Usage: fake-apiserver [flags]

A local Kubernetes API server (a test double of kube-apiserver) for coordination.k8s.io/v1 Leases,
v1 Pods (with pods/status), discovery.k8s.io EndpointSlices and v1 Events.
Prints one JSON line to stdout once listening: {"url":...,"admin":...,...}.

  --listen ADDR:PORT         API listener (default 127.0.0.1:0, an ephemeral port)
  --admin-listen ADDR:PORT   plain-HTTP admin listener: /faults /stats /tokens /objects (default 127.0.0.1:0)
  --tls                      serve HTTPS with a CA and server certificate generated at start
  --state-dir DIR            where ca.crt is written (default: a new directory under $TMPDIR)
  --port-file PATH           also write the startup JSON line to PATH (atomically)
  --kubeconfig-out PATH      write a kubeconfig for this server
  --kubeconfig-user NAME     the token user put in that kubeconfig (default admin)
  --token-file PATH          tokens in --token-auth-file CSV: token,user,uid,"group1,group2"
                             (default: admin-token for user admin in group system:masters)
  --rbac-file PATH           JSON policy restricting users (default: everyone authenticated may do anything)
  --data-file PATH           persist objects to PATH on every write and load them at start
  --faults JSON              initial faults, as PUT /faults takes them
  --watch-window N           change events kept for watches (default 1000); older resourceVersions get 410
  --start-resource-version N the first resourceVersion (default 0). A real API server's watch window
                             begins at the revision it started at, so a watch from before it gets
                             410 Expired; with N > 1, a watch from resourceVersion 1 does here too
  --endpointslice-version V  serve EndpointSlices as discovery.k8s.io/V: v1 (default) or v1beta1 (as 1.20)
  --kube-version V           answer as kube-apiserver V does where versions differ: 1.20 (default) or
                             1.37 (also v1.37.2 style); decode error wording, Lease spec.strategy and
                             spec.preferredHolder, Pod metadata.generation, GET /version, ...
  --verbose                  log every request to stderr
  --help                     this text
)";
}

std::variant<Options, std::string> parse_options(const std::vector<std::string>& args) {
  Options o;
  using Setter = std::function<std::optional<std::string>(const std::string&)>;
  const auto text = [](std::string& field) -> Setter {
    return [&field](const std::string& v) -> std::optional<std::string> {
      field = v;
      return std::nullopt;
    };
  };
  const auto optional_text = [](std::optional<std::string>& field) -> Setter {
    return [&field](const std::string& v) -> std::optional<std::string> {
      if (v.empty()) return std::string("must not be empty");
      field = v;
      return std::nullopt;
    };
  };
  const std::map<std::string, Setter> with_value = {
      {"--listen", text(o.listen)},
      {"--admin-listen", text(o.admin_listen)},
      {"--state-dir", optional_text(o.state_dir)},
      {"--port-file", optional_text(o.port_file)},
      {"--kubeconfig-out", optional_text(o.kubeconfig_out)},
      {"--kubeconfig-user", optional_text(o.kubeconfig_user)},
      {"--token-file", optional_text(o.token_file)},
      {"--rbac-file", optional_text(o.rbac_file)},
      {"--data-file", optional_text(o.data_file)},
      {"--faults", optional_text(o.faults)},
      {"--endpointslice-version",
       [&o](const std::string& v) -> std::optional<std::string> {
         if (v != "v1" && v != "v1beta1") return std::string("must be v1 or v1beta1");
         o.endpointslice_version = v;
         return std::nullopt;
       }},
      {"--kube-version",
       [&o](const std::string& v) -> std::optional<std::string> {
         if (!kube_version(v)) return std::string("must be one of ") + kube_versions_supported();
         o.kube_version = v;
         return std::nullopt;
       }},
      {"--watch-window",
       [&o](const std::string& v) -> std::optional<std::string> {
         if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9 ||
             std::stoul(v) == 0) {
           return std::string("must be a positive integer");
         }
         o.watch_window = std::stoul(v);
         return std::nullopt;
       }},
      {"--start-resource-version",
       [&o](const std::string& v) -> std::optional<std::string> {
         if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 15) {
           return std::string("must be a non-negative integer");
         }
         o.start_resource_version = std::stoull(v);
         return std::nullopt;
       }},
  };
  const std::map<std::string, bool*> switches = {
      {"--tls", &o.tls}, {"--verbose", &o.verbose}, {"--help", &o.help}, {"-h", &o.help}};

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (const auto s = switches.find(flag); s != switches.end()) {
      if (value) return "flag " + flag + " takes no value";
      *s->second = true;
      continue;
    }
    const auto w = with_value.find(flag);
    if (w == with_value.end()) return "unknown flag " + flag;
    if (!value) {
      if (i + 1 >= args.size()) return "flag " + flag + " needs a value";
      value = args[++i];
    }
    if (auto error = w->second(*value)) return "flag " + flag + ": " + *error;
  }
  return o;
}

}  // namespace fake
