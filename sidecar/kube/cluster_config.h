#pragma once
// Where the API server is and how to authenticate to it, found the way client-go finds it:
// rest.InClusterConfig inside a Pod, clientcmd's kubeconfig loading outside.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/environment.h"
#include "util/result.h"

namespace le::kube {

// The outcome of loading credentials or a kubeconfig: a value, or a message for the operator that
// names the file and the missing or bad key. Loading never throws to the caller.
template <class T>
using ConfigResult = util::Result<T, std::string>;

// The kubelet mounts the ServiceAccount's token, CA bundle and namespace here (client-go's
// rest.InClusterConfig and the in-cluster namespace lookup read the same paths).
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ClusterConfig {
  std::string server;  // "https://host:port" (an IPv6 host in brackets), possibly with a path prefix
  // TLS trust: a PEM blob wins over a file, as certificate-authority-data wins over
  // certificate-authority in clientcmd.
  std::string ca_file;
  std::string ca_pem;
  std::string client_cert_file, client_cert_pem;
  std::string client_key_file, client_key_pem;
  // Bearer token. When token_file is set it is re-read whenever it changes (projected
  // ServiceAccount tokens rotate) and its last good content wins over `token`, as client-go's
  // BearerTokenFile does.
  std::string token;
  std::string token_file;
  bool insecure_skip_tls_verify = false;
  std::optional<std::string> context_namespace;  // the kubeconfig context's namespace, if any
  std::string source;  // "in-cluster" or the kubeconfig path(s), for logs; never a secret
};

// rest.InClusterConfig: KUBERNETES_SERVICE_HOST/PORT and the mounted ServiceAccount files.
ConfigResult<ClusterConfig> load_in_cluster(const util::Environment& env,
                                            const std::filesystem::path& sa_dir = kServiceAccountDir);

// One kubeconfig file: its current-context, that context's cluster and user.
ConfigResult<ClusterConfig> load_kubeconfig(const std::filesystem::path& path);

// A KUBECONFIG list merged as clientcmd merges it: files that do not exist are skipped, the first
// file to name a cluster, user or context wins for that name, the first current-context wins, and
// relative paths are resolved against the directory of the file that held them.
ConfigResult<ClusterConfig> load_kubeconfig_list(const std::vector<std::filesystem::path>& paths);

// Splits KUBECONFIG on ':' (filepath.ListSeparator on Linux), dropping empty entries and duplicates.
std::vector<std::filesystem::path> split_kubeconfig_env(const std::string& value);

// --kubeconfig, else KUBECONFIG, else in-cluster when KUBERNETES_SERVICE_HOST is set, else
// $HOME/.kube/config when it exists; otherwise an error listing what was tried.
ConfigResult<ClusterConfig> resolve_cluster_config(std::optional<std::string> kubeconfig_flag,
                                                   const util::Environment& env,
                                                   const std::filesystem::path& sa_dir = kServiceAccountDir);

// --namespace, else POD_NAMESPACE (the downward API), else sa_dir/namespace (trimmed), else the
// kubeconfig context's namespace, else "default". Empty values count as unset.
std::string resolve_namespace(std::optional<std::string> flag, const util::Environment& env,
                              const std::filesystem::path& sa_dir,
                              std::optional<std::string> kubeconfig_context_ns);

}  // namespace le::kube
