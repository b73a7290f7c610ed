#pragma once
// The real control plane that test/e2e/control-plane started (etcd + kube-apiserver, 1.20 from
// Debian's source or the current version from the Go module proxy), as its environment file
// describes it, and the electors the tests run against
// it: lease-elector sidecars and the Go elector peers (client-go, controller-runtime), each a child
// process with a /leader endpoint.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "process.h"

namespace le::testing {

// CTest reports a test that exits with this status as skipped (SKIP_RETURN_CODE).
constexpr int kSkipExitCode = 77;

// A Go elector the interop tests run against the sidecar: test/e2e/client-go-peer built against some
// client-go, or test/e2e/controller-runtime-peer. They take the same flags and answer /leader alike.
struct InteropPeer {
  std::string label;  // names the peer in test output and measurements, e.g. client-go-v0.37.2
  std::string binary;
};

struct RealControlPlane {
  std::string url, ca, dir, ns;
  std::string kubeconfig_admin, kubeconfig_restricted, kubeconfig_norole, kubeconfig_partial, kubeconfig_cert;
  std::string token_admin, token_restricted, token_norole, token_partial;
  std::string restricted_lease;  // the one Lease the restricted user's Role names
  std::string client_go_peer;    // the peer binary (client-go 1.20)
  // INTEROP_PEERS ("LABEL=PATH ..."), or client-go=CLIENT_GO_PEER when it is unset.
  std::vector<InteropPeer> interop_peers;
};

// The control plane from the environment (REAL_APISERVER_URL...), or, when it is absent, a message
// and exit with kSkipExitCode: a developer's plain test/run passes without a control plane.
const RealControlPlane& real_control_plane_or_skip();

// Admin access to the real API server's Leases.
class LeaseAdmin {
 public:
  explicit LeaseAdmin(const RealControlPlane& plane);
  nlohmann::json read(const std::string& name);  // null when missing
  void remove(const std::string& name);          // no error when missing
  // Deletes the Lease and creates it free (an empty spec), as the Helm chart renders it: the Role
  // the chart renders then needs no create.
  void recreate_free(const std::string& name);
  // The Lease reset in place, as `kubectl replace` of the chart's `spec: {}` does it: an update
  // conditional on the resourceVersion of `as_read` that blanks the record and keeps the object (and
  // its uid). False when the Lease was written since it was read (409 Conflict).
  bool reset_in_place(const std::string& name, const nlohmann::json& as_read);
  // Deleted and created again with `spec: {}`, as `kubectl replace --force` does it: a new uid.
  void recreate_empty(const std::string& name);
  HttpAnswer request(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::string& content_type = "application/json");

 private:
  const RealControlPlane& plane_;
  HttpClient http_;
};

struct ElectorTimings {
  std::string lease_duration, renew_deadline, retry_period;
};

// One elector process (sidecar or Go peer) with its /leader endpoint on loopback.
class Elector {
 public:
  static std::unique_ptr<Elector> sidecar(const std::string& binary, const std::string& identity,
                                          const std::string& kubeconfig, const std::string& ns,
                                          const std::string& lease, const ElectorTimings& timings,
                                          const std::string& log_dir, std::vector<std::string> extra = {});
  // A Go peer (client_go_peer or one of interop_peers): its timings are client-go's LeaseDuration,
  // RenewDeadline and RetryPeriod.
  static std::unique_ptr<Elector> go_peer(const std::string& binary, const RealControlPlane& plane,
                                          const std::string& identity, const std::string& kubeconfig,
                                          const std::string& lease, const ElectorTimings& timings,
                                          const std::string& log_dir);

  const std::string& identity() const { return identity_; }
  std::string leader_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/leader"; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *process_; }

 private:
  Elector(std::string identity, int port, std::unique_ptr<ChildProcess> process)
      : identity_(std::move(identity)), port_(port), process_(std::move(process)) {}
  std::string identity_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

// Samples the /leader endpoints of several electors, one after another, as fast as they answer,
// on its own thread. An overlap is proven when, in three consecutive samples of two electors
// (X, Y, X), all three say isLeader: X led both before and after Y said it led, and a term is
// one continuous interval. Two consecutive true samples alone are counted separately: they can
// straddle a handover.
class LeaderSampler {
 public:
  explicit LeaderSampler(std::vector<std::string> leader_urls);
  ~LeaderSampler();
  LeaderSampler(const LeaderSampler&) = delete;
  LeaderSampler& operator=(const LeaderSampler&) = delete;

  // The index of the elector that currently says it leads (the latest sample of each), if exactly one.
  std::optional<std::size_t> leader() const;
  // Waits until elector `index` has said isLeader after `since`; returns when it first did.
  std::optional<std::chrono::steady_clock::time_point> wait_until_leading(
      std::size_t index, std::chrono::steady_clock::time_point since,
      std::chrono::milliseconds timeout) const;
  // The last time elector `index` said isLeader.
  std::optional<std::chrono::steady_clock::time_point> last_leading(std::size_t index) const;
  int proven_overlaps() const { return proven_overlaps_; }
  int adjacent_true_pairs() const { return adjacent_true_pairs_; }
  long samples() const { return samples_; }
  std::string overlap_report() const;

 private:
  struct Sample {
    std::size_t index;
    bool leading;
    std::chrono::steady_clock::time_point at;
  };
  using Run = std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>;
  void run();
  void record(const Sample& sample);
  std::vector<std::string> urls_;
  mutable std::mutex mutex_;
  std::vector<std::optional<Sample>> latest_;  // per elector
  std::vector<std::vector<Run>> runs_;         // per elector: spans of consecutive isLeader samples
  std::vector<Sample> window_;                 // the last three samples
  std::atomic<int> proven_overlaps_{0};
  std::atomic<int> adjacent_true_pairs_{0};
  std::atomic<long> samples_{0};
  std::string overlap_report_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string make_temp_dir(const std::string& prefix);

// A temporary directory for the electors' logs, removed when it goes out of scope (also when a
// REQUIRE ends the test early) unless LEASE_ELECTOR_KEEP_LOGS is set. Declare it before the
// electors that write into it, so they are gone first.
struct LogDir {
  explicit LogDir(const std::string& prefix) : path(make_temp_dir(prefix)) {}
  ~LogDir();
  LogDir(const LogDir&) = delete;
  LogDir& operator=(const LogDir&) = delete;
  const std::string path;
};

}  // namespace le::testing
