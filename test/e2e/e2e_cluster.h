#pragma once
// The e2e suite's view of a real API server: an administrator's client from E2E_KUBECONFIG, the
// objects it creates (and deletes, one by one), and sidecar processes run against it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "kube/curl_transport.h"
#include "process.h"

namespace le::e2e {

class Cluster {
 public:
  Cluster(const std::string& kubeconfig, std::string sidecar_binary);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& ns() const { return ns_; }
  std::string pods_path() const { return "/api/v1/namespaces/" + ns_ + "/pods"; }
  std::string slices_path() const {
    return "/apis/discovery.k8s.io/" + slice_version_ + "/namespaces/" + ns_ + "/endpointslices";
  }
  static std::string pod_name(std::size_t i) { return "e2e-pod-" + std::to_string(i); }
  static std::string pod_ip(std::size_t i) { return "192.0.2." + std::to_string(i + 1); }

  // As the administrator. get_json: null on 404, throws on any other failure.
  kube::HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                          const std::string& content_type = "application/json");
  nlohmann::json get_json(const std::string& path);

  // A fresh Lease with an empty spec (as the chart renders it), so the first sidecar leads at once.
  void reset_lease();

  // Which Role the sidecar's ServiceAccount has (when restricted()): the chart's rules for every
  // routing mode, those without pods patch, or the Lease's and Events' rules alone (proxy mode).
  enum class Rights { routing, no_pod_patch, lease_only };
  // `env` is added after (and so overrides) POD_NAME, POD_IP and POD_NAMESPACE.
  void start_sidecar(std::size_t i, const std::vector<std::string>& flags, Rights rights = Rights::routing,
                     const std::vector<std::string>& env = {});
  std::optional<std::size_t> wait_for_leader(std::chrono::milliseconds timeout,
                                             std::optional<std::size_t> except = std::nullopt);
  void stop_sidecar(std::size_t i, bool wait);
  int wait_exit(std::size_t i);
  bool sidecar_running(std::size_t i);
  bool wait_log(std::size_t i, const std::string& needle, std::chrono::milliseconds timeout);
  int split_brain_sweeps() const { return split_brain_sweeps_; }

  // Whether the sidecars run as a ServiceAccount bound to the least-privilege Role.
  bool restricted() const { return !restricted_kubeconfig_.empty(); }
  const std::string& restricted_note() const { return restricted_note_; }

  // Stops every sidecar and deletes what was created, object by object (a namespace without a
  // controller manager never finishes terminating, so its content is not left to it).
  void clean_up();

 private:
  struct Sidecar {
    std::unique_ptr<testing::ChildProcess> process;
    int port = 0;
  };
  void create(const std::string& collection, const nlohmann::json& object, bool required);
  void set_up_restricted_identity();
  std::string write_kubeconfig(const std::string& name, const std::string& token);
  bool leads(std::size_t i);

  std::string kubeconfig_;
  std::string sidecar_binary_;
  kube::ClusterConfig config_;
  std::unique_ptr<kube::CurlTransport> transport_;
  std::string ns_;
  bool namespace_created_ = false;
  std::string slice_version_ = "v1";
  std::string work_dir_;
  std::vector<std::string> created_;  // object paths, in creation order
  std::string restricted_kubeconfig_, nopatch_kubeconfig_, lease_only_kubeconfig_, restricted_note_;
  std::vector<Sidecar> sidecars_;
  testing::HttpClient http_;
  int split_brain_sweeps_ = 0;
  bool cleaned_ = false;
};

}  // namespace le::e2e
