// rest.InClusterConfig: the API server's Service address from the environment the kubelet sets,
// the ServiceAccount token and CA bundle from the projected volume.
#include <system_error>

#include "kube/cluster_config.h"
#include "kube/file_util.h"

namespace le::kube {
namespace {

// net.JoinHostPort: an IPv6 literal contains ':' and goes in brackets.
std::string join_host_port(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]:" + port;
  return host + ":" + port;
}

}  // namespace

ConfigResult<ClusterConfig> load_in_cluster(const util::Environment& env,
                                            const std::filesystem::path& sa_dir) {
  const auto host = env("KUBERNETES_SERVICE_HOST");
  const auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    // client-go's ErrNotInCluster, word for word, so operators can search for it.
    return std::string{
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must "
        "be "
        "defined"};
  }
  const auto token_file = sa_dir / "token";
  const auto ca_file = sa_dir / "ca.crt";
  // client-go fails on an unreadable token but only logs a missing CA; without the CA no TLS
  // handshake with the API server can succeed, so this says so at startup instead.
  if (auto token = read_file(token_file); !token) {
    return std::string{"unable to load in-cluster configuration: cannot read the ServiceAccount token " +
                       token_file.string() + " (is automountServiceAccountToken off?)"};
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(ca_file, ec) || !read_file(ca_file)) {
    return std::string{"unable to load in-cluster configuration: cannot read the ServiceAccount CA bundle " +
                       ca_file.string()};
  }
  ClusterConfig config;
  config.server = "https://" + join_host_port(*host, *port);
  config.ca_file = ca_file.string();
  // Kept as a file, not its content: bound ServiceAccount tokens are rotated by the kubelet (about
  // hourly), and client-go re-reads BearerTokenFile for the same reason.
  config.token_file = token_file.string();
  config.source = "in-cluster";
  return config;
}

}  // namespace le::kube
