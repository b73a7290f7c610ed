#include "real_control_plane.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "local_cluster.h"  // free_loopback_port

namespace le::testing {

using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// "LABEL=PATH LABEL=PATH ...", separated by blanks.
std::vector<InteropPeer> parse_interop_peers(const std::string& text) {
  std::vector<InteropPeer> peers;
  std::size_t at = 0;
  while ((at = text.find_first_not_of(" \t\n", at)) != std::string::npos) {
    const std::size_t end = std::min(text.find_first_of(" \t\n", at), text.size());
    const std::string entry = text.substr(at, end - at);
    const std::size_t equals = entry.find('=');
    if (equals == 0 || equals == std::string::npos || equals + 1 == entry.size())
      throw std::runtime_error("INTEROP_PEERS: \"" + entry + "\" is not LABEL=PATH");
    peers.push_back({entry.substr(0, equals), entry.substr(equals + 1)});
    if (::access(peers.back().binary.c_str(), X_OK) != 0)
      throw std::runtime_error("INTEROP_PEERS: " + peers.back().binary + " is not an executable");
    at = end;
  }
  if (peers.empty()) throw std::runtime_error("INTEROP_PEERS is set but names no peer");
  return peers;
}

}  // namespace

const RealControlPlane& real_control_plane_or_skip() {
  static const RealControlPlane plane = [] {
    RealControlPlane p;
    p.url = env("REAL_APISERVER_URL");
    if (p.url.empty()) {
      std::printf(
          "SKIPPED: no real control plane (REAL_APISERVER_URL is not set). Run "
          "test/e2e/run-real-apiserver to build and start one and run these tests against it.\n");
      std::fflush(stdout);
      std::exit(kSkipExitCode);
    }
    p.ca = env("REAL_APISERVER_CA");
    p.dir = env("REAL_APISERVER_DIR");
    p.ns = env("REAL_NAMESPACE").empty() ? "default" : env("REAL_NAMESPACE");
    p.kubeconfig_admin = env("REAL_KUBECONFIG_ADMIN");
    p.kubeconfig_restricted = env("REAL_KUBECONFIG_RESTRICTED");
    p.kubeconfig_norole = env("REAL_KUBECONFIG_NOROLE");
    p.kubeconfig_partial = env("REAL_KUBECONFIG_PARTIAL");
    p.kubeconfig_cert = env("REAL_KUBECONFIG_CERT");
    p.token_admin = env("REAL_TOKEN_ADMIN");
    p.token_restricted = env("REAL_TOKEN_RESTRICTED");
    p.token_norole = env("REAL_TOKEN_NOROLE");
    p.token_partial = env("REAL_TOKEN_PARTIAL");
    p.restricted_lease = env("REAL_RESTRICTED_LEASE");
    p.client_go_peer = env("CLIENT_GO_PEER");
    for (const auto* required : {&p.ca, &p.kubeconfig_admin, &p.token_admin, &p.client_go_peer}) {
      if (required->empty())
        throw std::runtime_error(
            "REAL_APISERVER_URL is set but the control plane's environment is incomplete");
    }
    p.interop_peers = std::getenv("INTEROP_PEERS")
                          ? parse_interop_peers(env("INTEROP_PEERS"))
                          : std::vector<InteropPeer>{{"client-go", p.client_go_peer}};
    return p;
  }();
  return plane;
}

LeaseAdmin::LeaseAdmin(const RealControlPlane& plane) : plane_(plane) {
  http_.set_ca_file(plane.ca);
  http_.set_bearer_token(plane.token_admin);
}

HttpAnswer LeaseAdmin::request(const std::string& method, const std::string& path, const std::string& body,
                               const std::string& content_type) {
  return http_.request(method, plane_.url + path, body, content_type, milliseconds{5000});
}

nlohmann::json LeaseAdmin::read(const std::string& name) {
  auto answer = request("GET", "/apis/coordination.k8s.io/v1/namespaces/" + plane_.ns + "/leases/" + name);
  if (answer.status == 404) return nullptr;
  if (answer.status != 200)
    throw std::runtime_error("reading Lease " + name + ": " + std::to_string(answer.status) + " " +
                             answer.body + answer.error);
  return nlohmann::json::parse(answer.body);
}

void LeaseAdmin::remove(const std::string& name) {
  auto answer = request("DELETE", "/apis/coordination.k8s.io/v1/namespaces/" + plane_.ns + "/leases/" + name);
  if (answer.status != 200 && answer.status != 404)
    throw std::runtime_error("deleting Lease " + name + ": " + std::to_string(answer.status) + " " +
                             answer.body);
}

void LeaseAdmin::recreate_free(const std::string& name) {
  remove(name);
  const nlohmann::json lease{{"apiVersion", "coordination.k8s.io/v1"},
                             {"kind", "Lease"},
                             {"metadata", {{"name", name}, {"namespace", plane_.ns}}},
                             // client-go's release record: free and taken at once. An empty spec
                             // is taken only a lease duration after it is first seen (README, Safety).
                             {"spec", nlohmann::json{{"holderIdentity", ""},
                                                     {"leaseDurationSeconds", 1},
                                                     {"acquireTime", "2024-01-01T00:00:00.000000Z"},
                                                     {"renewTime", "2024-01-01T00:00:00.000000Z"}}}};
  auto answer =
      request("POST", "/apis/coordination.k8s.io/v1/namespaces/" + plane_.ns + "/leases", lease.dump());
  if (answer.status != 201)
    throw std::runtime_error("creating Lease " + name + ": " + std::to_string(answer.status) + " " +
                             answer.body);
}

bool LeaseAdmin::reset_in_place(const std::string& name, const nlohmann::json& as_read) {
  const nlohmann::json lease{{"apiVersion", "coordination.k8s.io/v1"},
                             {"kind", "Lease"},
                             {"metadata",
                              {{"name", name},
                               {"namespace", plane_.ns},
                               {"resourceVersion", as_read["metadata"]["resourceVersion"]}}},
                             {"spec", nlohmann::json::object()}};
  auto answer = request("PUT", "/apis/coordination.k8s.io/v1/namespaces/" + plane_.ns + "/leases/" + name,
                        lease.dump());
  if (answer.status == 409) return false;
  if (answer.status != 200)
    throw std::runtime_error("resetting Lease " + name + ": " + std::to_string(answer.status) + " " +
                             answer.body + answer.error);
  return true;
}

void LeaseAdmin::recreate_empty(const std::string& name) {
  remove(name);
  const nlohmann::json lease{{"apiVersion", "coordination.k8s.io/v1"},
                             {"kind", "Lease"},
                             {"metadata", {{"name", name}, {"namespace", plane_.ns}}},
                             {"spec", nlohmann::json::object()}};
  auto answer =
      request("POST", "/apis/coordination.k8s.io/v1/namespaces/" + plane_.ns + "/leases", lease.dump());
  if (answer.status != 201)
    throw std::runtime_error("creating Lease " + name + ": " + std::to_string(answer.status) + " " +
                             answer.body + answer.error);
}

std::unique_ptr<Elector> Elector::sidecar(const std::string& binary, const std::string& identity,
                                          const std::string& kubeconfig, const std::string& ns,
                                          const std::string& lease, const ElectorTimings& timings,
                                          const std::string& log_dir, std::vector<std::string> extra) {
  const int port = free_loopback_port();
  std::vector<std::string> argv{binary,
                                "--lease-name",
                                lease,
                                "--namespace",
                                ns,
                                "--id",
                                identity,
                                "--http",
                                "127.0.0.1:" + std::to_string(port),
                                "--kubeconfig",
                                kubeconfig,
                                "--lease-duration",
                                timings.lease_duration,
                                "--renew-deadline",
                                timings.renew_deadline,
                                "--retry-period",
                                timings.retry_period,
                                "--release-delay",
                                "0s",
                                "--log-level",
                                "info"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto process = std::make_unique<ChildProcess>(argv, log_dir + "/" + identity + ".log");
  return std::unique_ptr<Elector>(new Elector(identity, port, std::move(process)));
}

std::unique_ptr<Elector> Elector::go_peer(const std::string& binary, const RealControlPlane& plane,
                                          const std::string& identity, const std::string& kubeconfig,
                                          const std::string& lease, const ElectorTimings& timings,
                                          const std::string& log_dir) {
  const int port = free_loopback_port();
  std::vector<std::string> argv{binary,
                                "--kubeconfig=" + kubeconfig,
                                "--namespace=" + plane.ns,
                                "--lease-name=" + lease,
                                "--identity=" + identity,
                                "--lease-duration=" + timings.lease_duration,
                                "--renew-deadline=" + timings.renew_deadline,
                                "--retry-period=" + timings.retry_period,
                                "--http-address=127.0.0.1:" + std::to_string(port)};
  auto process = std::make_unique<ChildProcess>(argv, log_dir + "/" + identity + ".log");
  return std::unique_ptr<Elector>(new Elector(identity, port, std::move(process)));
}

LeaderSampler::LeaderSampler(std::vector<std::string> leader_urls)
    : urls_(std::move(leader_urls)), latest_(urls_.size()), runs_(urls_.size()) {
  thread_ = std::thread([this] { run(); });
}

LeaderSampler::~LeaderSampler() {
  stop_ = true;
  thread_.join();
}

void LeaderSampler::run() {
  HttpClient http;
  while (!stop_) {
    for (std::size_t i = 0; i < urls_.size() && !stop_; ++i) {
      const auto answer = http.get(urls_[i], milliseconds{300});
      // The instant the answer is known to have been true: not before the request went out and
      // not after the answer came; the end is the conservative choice for "still leading".
      const auto at = steady_clock::now();
      bool leading = false;
      if (answer.status == 200) {
        auto body = nlohmann::json::parse(answer.body, nullptr, false);
        leading = !body.is_discarded() && body.value("isLeader", false);
      }
      record(Sample{i, leading, at});
    }
    // A short pause per sweep keeps the rate high (hundreds of sweeps a second) without taking a
    // whole core from the electors under test.
    std::this_thread::sleep_for(milliseconds{1});
  }
}

void LeaderSampler::record(const Sample& sample) {
  std::lock_guard lock(mutex_);
  ++samples_;
  auto& previous = latest_[sample.index];
  if (sample.leading) {
    auto& runs = runs_[sample.index];
    if (previous && previous->leading && !runs.empty()) {
      runs.back().second = sample.at;
    } else {
      runs.emplace_back(sample.at, sample.at);
    }
  }
  previous = sample;
  window_.push_back(sample);
  if (window_.size() > 3) window_.erase(window_.begin());
  const auto n = window_.size();
  if (n >= 2 && window_[n - 1].leading && window_[n - 2].leading &&
      window_[n - 1].index != window_[n - 2].index)
    ++adjacent_true_pairs_;
  if (n == 3 && window_[0].leading && window_[1].leading && window_[2].leading &&
      window_[0].index == window_[2].index && window_[0].index != window_[1].index) {
    ++proven_overlaps_;
    if (overlap_report_.size() < 2000) {
      overlap_report_ += "elector " + std::to_string(window_[0].index) + " led before and after elector " +
                         std::to_string(window_[1].index) + " said it led; ";
    }
  }
}

std::optional<std::size_t> LeaderSampler::leader() const {
  std::lock_guard lock(mutex_);
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < latest_.size(); ++i) {
    if (latest_[i] && latest_[i]->leading) {
      if (found) return std::nullopt;
      found = i;
    }
  }
  return found;
}

std::optional<steady_clock::time_point> LeaderSampler::wait_until_leading(std::size_t index,
                                                                          steady_clock::time_point since,
                                                                          milliseconds timeout) const {
  const auto until = steady_clock::now() + timeout;
  while (steady_clock::now() < until) {
    {
      std::lock_guard lock(mutex_);
      for (const auto& [start, end] : runs_[index]) {
        if (end >= since) return start >= since ? start : since;
      }
    }
    std::this_thread::sleep_for(milliseconds{2});
  }
  return std::nullopt;
}

std::optional<steady_clock::time_point> LeaderSampler::last_leading(std::size_t index) const {
  std::lock_guard lock(mutex_);
  if (runs_[index].empty()) return std::nullopt;
  return runs_[index].back().second;
}

std::string LeaderSampler::overlap_report() const {
  std::lock_guard lock(mutex_);
  return overlap_report_;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
  return pattern;
}

LogDir::~LogDir() {
  if (std::getenv("LEASE_ELECTOR_KEEP_LOGS")) return;
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

}  // namespace le::testing
