#pragma once
// The local API server and a set of sidecars as child processes, with their /leader observed from
// outside: what the integration tests and the demo drive.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "leadership_terms.h"
#include "process.h"

namespace le::testing {

struct ClusterOptions {
  std::string apiserver_binary;
  std::string sidecar_binary;
  bool tls = true;
  std::string lease_name = "demo";
  std::string lease_duration = "2s";
  std::string renew_deadline = "1s";
  std::string retry_period = "200ms";
  std::string release_delay = "0s";
  std::vector<std::string> extra_sidecar_flags;
  std::vector<std::string> extra_apiserver_flags;
  // Point the sidecars at the API server through KUBECONFIG (a list whose first file does not
  // exist, as clientcmd allows) instead of --kubeconfig.
  bool kubeconfig_from_env = false;
  // Each replica authenticates as its own user ("replica-i", with its own token), so the local API
  // server's stats count every replica's requests apart.
  bool user_per_replica = false;
  // Give each sidecar the Downward API's POD_NAME (its identity, "replica-i"), POD_IP (pod_ip(i)),
  // as routing modes need, and POD_UID (pod_uid(i)), for Events on the Pod.
  bool pod_env = false;
  // When set, every sidecar gets this POD_IP (after pod_env's): loopback for the proxy's tests, where
  // each replica's proxy listens on a port of its own and followers reach the leader's through it.
  std::string pod_ip_for_all;
  // How long leader_view() waits for a /leader answer; one that does not come counts as "not
  // leader". The answer never waits on the API server, so only scheduling delays it: tests that
  // assert a leader through it on a loaded machine want seconds here.
  std::chrono::milliseconds leader_answer_timeout{500};
};

struct LeaderView {
  bool answered = false;
  bool is_leader = false;
  std::string name;  // the holder this replica observed
  nlohmann::json body;
};

class LocalCluster {
 public:
  explicit LocalCluster(ClusterOptions options);
  ~LocalCluster();

  const std::string& work_dir() const { return work_dir_; }
  const std::string& api_url() const { return api_url_; }
  const std::string& admin_url() const { return admin_url_; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& ca_file() const { return ca_file_; }  // empty without TLS

  // Starts sidecar i (0-based; restarting an index replaces the old process). Identity "replica-i".
  void start_sidecar(std::size_t index, std::vector<std::string> extra_flags = {});
  ChildProcess& sidecar(std::size_t index) { return *sidecars_.at(index).process; }
  // The logs of every process started as sidecar i, oldest first; the last is the current one's.
  const std::vector<std::string>& sidecar_logs(std::size_t index) const { return sidecars_.at(index).logs; }
  // The leadership terms every sidecar (each incarnation) has logged so far, on CLOCK_BOOTTIME.
  std::vector<LoggedTerm> leadership_terms() const;
  int http_port(std::size_t index) const { return sidecars_.at(index).port; }
  std::size_t size() const { return sidecars_.size(); }
  std::string identity(std::size_t index) const { return "replica-" + std::to_string(index); }
  // The POD_IP sidecar i gets with pod_env (documentation range, never routed anywhere).
  static std::string pod_ip(std::size_t index) { return "192.0.2." + std::to_string(index + 1); }
  static std::string pod_uid(std::size_t index) {
    return "00000000-0000-4000-8000-00000000000" + std::to_string(index);
  }

  LeaderView leader_view(std::size_t index);
  // Indexes of the replicas whose /leader says isLeader=true right now.
  std::vector<std::size_t> leaders();
  // Polls every replica's /leader until one other than `except` leads; returns its index and how
  // long it took. Fails the wait (nullopt) at the timeout. While polling, counts any instant at
  // which two replicas answered isLeader=true in the same sweep.
  std::optional<std::pair<std::size_t, std::chrono::nanoseconds>> wait_for_leader(
      std::chrono::milliseconds timeout, std::optional<std::size_t> except = std::nullopt);
  int split_brain_sweeps() const { return split_brain_sweeps_; }

  // The Lease as the API server has it (admin view); null when it does not exist.
  nlohmann::json read_lease();
  // Creates the Lease with this spec, as an administrator or a chart would, up front.
  void create_lease(const nlohmann::json& spec);
  // A Lease with client-go's release record (no holder, renewTime set): taken over at once. An
  // empty spec (as the Helm chart creates it) is taken only one lease duration after a replica
  // first sees it, since it may be a Lease reset under a live leader.
  static nlohmann::json released_lease_spec() {
    return {{"holderIdentity", ""},
            {"leaseDurationSeconds", 1},
            {"acquireTime", "2024-01-01T00:00:00.000000Z"},
            {"renewTime", "2024-01-01T00:00:00.000000Z"}};
  }
  // A JSON merge patch of the Lease, as an administrator (kubectl label/annotate) would send it.
  void patch_lease(const nlohmann::json& patch);
  // Fault injection on the local API server (its admin endpoint).
  void set_faults(const nlohmann::json& faults);
  // The local API server's request counts (admin GET /stats), and their reset.
  nlohmann::json stats();
  void reset_stats();
  // Adds or revokes a bearer token at run time (the admin endpoint's POST /tokens).
  void post_tokens(const nlohmann::json& request);
  // The token this harness itself uses to read and write the Lease.
  void use_admin_token(const std::string& token) { api_http_.set_bearer_token(token); }

  // Any request to the API server as the administrator; path starts with /api or /apis.
  HttpAnswer api_request(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& content_type = "application/json");
  // Creates a Pod in "default" with these labels (and the readiness gate lease-elector.io/leader),
  // as a Deployment would; nothing runs it.
  void create_pod(const std::string& name, const nlohmann::json& labels);
  // The Pods of "default" with these labels (a label selector), as the API server has them.
  nlohmann::json list_pods(const std::string& selector);

 private:
  struct Sidecar {
    std::unique_ptr<ChildProcess> process;
    int port = 0;
    std::vector<std::string> logs;
  };
  ClusterOptions options_;
  std::string work_dir_;
  std::unique_ptr<ChildProcess> apiserver_;
  std::string api_url_, admin_url_, kubeconfig_, ca_file_, admin_token_;
  std::vector<Sidecar> sidecars_;
  HttpClient http_;
  HttpClient api_http_;
  int split_brain_sweeps_ = 0;
};

int free_loopback_port();

}  // namespace le::testing
