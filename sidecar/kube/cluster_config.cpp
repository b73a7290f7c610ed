// Which credentials to use, and which namespace the Lease lives in.
#include "kube/cluster_config.h"

#include <system_error>

#include "kube/file_util.h"

namespace le::kube {

ConfigResult<ClusterConfig> resolve_cluster_config(std::optional<std::string> kubeconfig_flag,
                                                   const util::Environment& env,
                                                   const std::filesystem::path& sa_dir) {
  // An explicit choice is never second-guessed: if it fails, the error says why, rather than
  // silently falling back to other credentials (which could point at another cluster).
  if (kubeconfig_flag && !kubeconfig_flag->empty()) return load_kubeconfig(*kubeconfig_flag);
  if (const auto list = env("KUBECONFIG")) {
    auto result = load_kubeconfig_list(split_kubeconfig_env(*list));
    if (!result.ok()) return std::string{"KUBECONFIG=" + *list + ": " + result.error()};
    return result;
  }
  if (env("KUBERNETES_SERVICE_HOST")) return load_in_cluster(env, sa_dir);
  std::string home_note = "$HOME/.kube/config (HOME is unset)";
  if (const auto home = env("HOME")) {
    const auto path = std::filesystem::path(*home) / ".kube" / "config";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return load_kubeconfig(path);
    home_note = path.string() + " (does not exist)";
  }
  return std::string{
      "no Kubernetes credentials found; tried --kubeconfig (not given), KUBECONFIG (unset), in-cluster "
      "(KUBERNETES_SERVICE_HOST unset), " +
      home_note};
}

std::string resolve_namespace(std::optional<std::string> flag, const util::Environment& env,
                              const std::filesystem::path& sa_dir,
                              std::optional<std::string> kubeconfig_context_ns) {
  if (flag && !flag->empty()) return *flag;
  if (auto pod_namespace = env("POD_NAMESPACE")) return *pod_namespace;
  // The ServiceAccount volume's namespace file, as client-go's in-cluster namespace lookup reads it.
  if (auto content = read_file(sa_dir / "namespace")) {
    if (const auto ns = trim_space(*content); !ns.empty()) return std::string(ns);
  }
  if (kubeconfig_context_ns && !kubeconfig_context_ns->empty()) return *kubeconfig_context_ns;
  return "default";
}

}  // namespace le::kube
