#include "e2e_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

#include "kube/cluster_config.h"
#include "kube/endpoint_slice_client.h"
#include "local_cluster.h"

namespace le::e2e {

using namespace std::chrono;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kLease = "e2e-routing";

std::string random_suffix() {
  std::random_device random;
  const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 6; ++i) out += hex[random() % 16];
  return out;
}

json pod(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", {{"app", "e2e"}}}}},
          {"spec",
           {// No scheduler serves this name: the Pod stays Pending on any cluster.
            {"schedulerName", "lease-elector-e2e-unscheduled"},
            // No token volume: on a server without a controller manager no token Secret exists,
            // and the ServiceAccount admission plugin would refuse the Pod.
            {"automountServiceAccountToken", false},
            {"containers", json::array({{{"name", "app"}, {"image", "registry.invalid/app:1"}}})},
            {"readinessGates", json::array({{{"conditionType", "lease-elector.io/leader"}}})}}}};
}

json rule(const std::string& group, const std::vector<std::string>& resources,
          const std::vector<std::string>& verbs) {
  return {{"apiGroups", {group}}, {"resources", resources}, {"verbs", verbs}};
}

}  // namespace

Cluster::Cluster(const std::string& kubeconfig, std::string sidecar_binary)
    : kubeconfig_(kubeconfig), sidecar_binary_(std::move(sidecar_binary)) {
  auto loaded = kube::load_kubeconfig_list({kubeconfig});
  if (!loaded.ok()) throw std::runtime_error("E2E_KUBECONFIG " + kubeconfig + ": " + loaded.error());
  config_ = loaded.value();
  transport_ = std::make_unique<kube::CurlTransport>(config_);
  work_dir_ = (fs::temp_directory_path() / ("lease-elector-e2e-" + random_suffix())).string();
  fs::create_directories(work_dir_);
  ns_ = "lease-elector-e2e-" + random_suffix();

  const auto version = call("GET", "/version");
  if (version.status != 200)
    throw std::runtime_error("GET /version: " + std::to_string(version.status) + " " + version.body);
  std::cout << "e2e: API server " << config_.server << " version "
            << json::parse(version.body).value("gitVersion", "?") << ", namespace " << ns_ << std::endl;

  const auto ns =
      call("POST", "/api/v1/namespaces",
           json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}}.dump());
  if (ns.status == 201) {
    namespace_created_ = true;
  } else if (ns.status == 404) {
    std::cout << "e2e: this server has no Namespace API (the local API server?): using " << ns_ << " as is"
              << std::endl;
  } else {
    throw std::runtime_error("creating namespace " + ns_ + ": " + std::to_string(ns.status) + " " + ns.body);
  }

  const auto group = call("GET", "/apis/discovery.k8s.io");
  const auto chosen = group.status == 200 ? kube::choose_endpoint_slice_version(group.body) : std::nullopt;
  if (!chosen) throw std::runtime_error("the server serves no discovery.k8s.io EndpointSlice version");
  slice_version_ = *chosen;
  std::cout << "e2e: EndpointSlices are discovery.k8s.io/" << slice_version_ << std::endl;

  create("/api/v1/namespaces/" + ns_ + "/services",
         {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", "web"}}},
          {"spec", {{"ports", json::array({{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}})}}}},
         false);
  // The ServiceAccount admission plugin wants the namespace's "default" ServiceAccount, which
  // only a controller manager would create.
  const auto sa = call(
      "POST", "/api/v1/namespaces/" + ns_ + "/serviceaccounts",
      json{{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "default"}}}}.dump());
  if (sa.status == 201) created_.push_back("/api/v1/namespaces/" + ns_ + "/serviceaccounts/default");
  for (std::size_t i = 0; i < 3; ++i) create(pods_path(), pod(pod_name(i)), true);
  set_up_restricted_identity();
  std::cout << "e2e: sidecars run as "
            << (restricted() ? "the restricted ServiceAccount" : "the kubeconfig's user")
            << (restricted_note_.empty() ? "" : " (" + restricted_note_ + ")") << std::endl;
}

Cluster::~Cluster() {
  try {
    clean_up();
  } catch (const std::exception& e) {
    std::cerr << "e2e clean-up: " << e.what() << "\n";
  }
}

kube::HttpResponse Cluster::call(const std::string& method, const std::string& path, const std::string& body,
                                 const std::string& content_type) {
  auto answer =
      transport_->request(method, path, body, body.empty() ? "" : content_type, milliseconds{15000});
  if (auto* error = std::get_if<kube::TransportError>(&answer)) throw std::runtime_error(error->message);
  return std::get<kube::HttpResponse>(answer);
}

json Cluster::get_json(const std::string& path) {
  const auto r = call("GET", path);
  if (r.status == 404) return nullptr;
  if (r.status != 200)
    throw std::runtime_error("GET " + path + ": " + std::to_string(r.status) + " " + r.body);
  return json::parse(r.body);
}

void Cluster::create(const std::string& collection, const json& object, bool required) {
  const auto r = call("POST", collection, object.dump());
  const std::string name = object["metadata"]["name"];
  if (r.status == 201) {
    created_.push_back(collection + "/" + name);
    return;
  }
  if (required)
    throw std::runtime_error("POST " + collection + ": " + std::to_string(r.status) + " " + r.body);
  std::cout << "e2e: could not create " << collection << "/" << name << " (" << r.status
            << "); going on without it" << std::endl;
}

void Cluster::set_up_restricted_identity() {
  const std::string sa = "/api/v1/namespaces/" + ns_ + "/serviceaccounts";
  const std::string roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns_ + "/roles";
  const std::string bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns_ + "/rolebindings";
  // The chart's least-privilege rules for every mode at once; the second identity lacks pods patch.
  const json lease_rules =
      json::array({rule("coordination.k8s.io", {"leases"}, {"get", "list", "watch", "create", "update"}),
                   rule("", {"events"}, {"create", "patch"})});
  json full = lease_rules;
  full.push_back(rule("", {"pods"}, {"get", "list", "patch"}));
  full.push_back(rule("", {"pods/status"}, {"patch"}));
  full.push_back(rule("discovery.k8s.io", {"endpointslices"}, {"get", "create", "update"}));
  json nopatch = lease_rules;
  nopatch.push_back(rule("", {"pods"}, {"get", "list"}));
  std::string tokens[3];
  const std::pair<std::string, json> identities[] = {{"lease-elector-e2e", full},
                                                     {"lease-elector-e2e-nopatch", nopatch},
                                                     {"lease-elector-e2e-lease-only", lease_rules}};
  for (int i = 0; i < 3; ++i) {
    const auto& [name, rules] = identities[i];
    auto r =
        call("POST", sa,
             json{{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}}.dump());
    if (r.status != 201) {
      restricted_note_ = "no ServiceAccounts: " + std::to_string(r.status);
      return;
    }
    created_.push_back(sa + "/" + name);
    r = call("POST", roles,
             json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "Role"},
                  {"metadata", {{"name", name}}},
                  {"rules", rules}}
                 .dump());
    if (r.status != 201) {
      restricted_note_ = "cannot create a Role: " + std::to_string(r.status);
      return;
    }
    created_.push_back(roles + "/" + name);
    r = call(
        "POST", bindings,
        json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
             {"kind", "RoleBinding"},
             {"metadata", {{"name", name}}},
             {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name}}},
             {"subjects", json::array({{{"kind", "ServiceAccount"}, {"name", name}, {"namespace", ns_}}})}}
            .dump());
    if (r.status != 201) {
      restricted_note_ = "cannot create a RoleBinding: " + std::to_string(r.status);
      return;
    }
    created_.push_back(bindings + "/" + name);
    r = call("POST", sa + "/" + name + "/token",
             json{{"apiVersion", "authentication.k8s.io/v1"},
                  {"kind", "TokenRequest"},
                  {"spec", {{"expirationSeconds", 3600}}}}
                 .dump());
    if (r.status != 201) {
      restricted_note_ = "no TokenRequest API: " + std::to_string(r.status);
      return;
    }
    tokens[i] = json::parse(r.body).at("status").at("token");
  }
  restricted_kubeconfig_ = write_kubeconfig("restricted", tokens[0]);
  nopatch_kubeconfig_ = write_kubeconfig("nopatch", tokens[1]);
  lease_only_kubeconfig_ = write_kubeconfig("lease-only", tokens[2]);
}

std::string Cluster::write_kubeconfig(const std::string& name, const std::string& token) {
  std::string ca = config_.ca_file;
  if (!config_.ca_pem.empty()) {
    ca = work_dir_ + "/ca.crt";
    std::ofstream(ca) << config_.ca_pem;
  }
  const std::string path = work_dir_ + "/" + name + ".kubeconfig";
  std::ofstream out(path);
  out << "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: " << config_.server
      << "\n";
  if (!ca.empty()) out << "    certificate-authority: " << ca << "\n";
  if (config_.insecure_skip_tls_verify) out << "    insecure-skip-tls-verify: true\n";
  out << "users:\n- name: e2e\n  user:\n    token: " << token << "\ncontexts:\n- name: e2e\n  context:\n"
      << "    cluster: e2e\n    user: e2e\n    namespace: " << ns_ << "\ncurrent-context: e2e\n";
  return path;
}

void Cluster::reset_lease() {
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/" + ns_ + "/leases";
  call("DELETE", leases + "/" + kLease);
  const auto r = call("POST", leases,
                      json{{"apiVersion", "coordination.k8s.io/v1"},
                           {"kind", "Lease"},
                           {"metadata", {{"name", kLease}}},
                           // client-go's release record: free and taken at once. An empty spec is
                           // taken only a lease duration after it is first seen (README, Safety).
                           {"spec", json{{"holderIdentity", ""},
                                         {"leaseDurationSeconds", 1},
                                         {"acquireTime", "2024-01-01T00:00:00.000000Z"},
                                         {"renewTime", "2024-01-01T00:00:00.000000Z"}}}}
                          .dump());
  if (r.status != 201)
    throw std::runtime_error("creating the Lease: " + std::to_string(r.status) + " " + r.body);
  if (std::find(created_.begin(), created_.end(), leases + "/" + kLease) == created_.end())
    created_.push_back(leases + "/" + kLease);
}

void Cluster::start_sidecar(std::size_t i, const std::vector<std::string>& flags, Rights rights,
                            const std::vector<std::string>& env) {
  if (sidecars_.size() <= i) sidecars_.resize(i + 1);
  auto& sidecar = sidecars_[i];
  sidecar.process.reset();
  sidecar.port = testing::free_loopback_port();
  const std::string kubeconfig = !restricted()                    ? kubeconfig_
                                 : rights == Rights::no_pod_patch ? nopatch_kubeconfig_
                                 : rights == Rights::lease_only   ? lease_only_kubeconfig_
                                                                  : restricted_kubeconfig_;
  std::vector<std::string> argv{sidecar_binary_,
                                "--lease-name",
                                kLease,
                                "--namespace",
                                ns_,
                                "--kubeconfig",
                                kubeconfig,
                                "--http",
                                "127.0.0.1:" + std::to_string(sidecar.port),
                                "--lease-duration",
                                "4s",
                                "--renew-deadline",
                                "2s",
                                "--retry-period",
                                "500ms",
                                "--release-delay",
                                "0s",
                                "--log-level",
                                "debug"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  static int started = 0;
  const std::string log = work_dir_ + "/" + std::to_string(++started) + "-" + pod_name(i) + ".log";
  std::vector<std::string> environment{"POD_NAME=" + pod_name(i), "POD_IP=" + pod_ip(i),
                                       "POD_NAMESPACE=" + ns_};
  environment.insert(environment.end(), env.begin(), env.end());
  sidecar.process = std::make_unique<testing::ChildProcess>(argv, log, environment);
}

bool Cluster::leads(std::size_t i) {
  auto& s = sidecars_.at(i);
  if (!s.process || !s.process->running()) return false;
  const auto answer = http_.get("http://127.0.0.1:" + std::to_string(s.port) + "/leader", milliseconds{500});
  if (answer.status != 200) return false;
  const auto body = json::parse(answer.body, nullptr, false);
  return !body.is_discarded() && body.value("isLeader", false);
}

std::optional<std::size_t> Cluster::wait_for_leader(milliseconds timeout, std::optional<std::size_t> except) {
  const auto until = steady_clock::now() + timeout;
  while (steady_clock::now() < until) {
    std::optional<std::size_t> found;
    int count = 0;
    for (std::size_t i = 0; i < sidecars_.size(); ++i) {
      if (leads(i)) {
        ++count;
        if (!except || i != *except) found = i;
      }
    }
    if (count > 1) ++split_brain_sweeps_;
    if (found) return found;
    std::this_thread::sleep_for(milliseconds{20});
  }
  return std::nullopt;
}

void Cluster::stop_sidecar(std::size_t i, bool wait) {
  auto& s = sidecars_.at(i);
  if (!s.process) return;
  s.process->signal(SIGTERM);
  if (wait) s.process->wait_for(seconds{30});
}

int Cluster::wait_exit(std::size_t i) {
  const auto status = sidecars_.at(i).process->wait_for(seconds{30});
  return status.value_or(-1);
}

bool Cluster::sidecar_running(std::size_t i) {
  return sidecars_.at(i).process && sidecars_.at(i).process->running();
}

bool Cluster::wait_log(std::size_t i, const std::string& needle, milliseconds timeout) {
  const auto until = steady_clock::now() + timeout;
  while (steady_clock::now() < until) {
    if (sidecars_.at(i).process->log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(milliseconds{100});
  }
  return false;
}

void Cluster::clean_up() {
  if (cleaned_) return;
  cleaned_ = true;
  for (auto& s : sidecars_) {
    if (s.process && s.process->running()) {
      s.process->signal(SIGTERM);
      s.process->wait_for(seconds{30});
    }
  }
  sidecars_.clear();
  // The slice the endpoints mode created is not in created_: the sidecars made it.
  created_.push_back(slices_path() + "/web-lease-elector");
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    const auto r = call("DELETE", *it);
    if (r.status != 200 && r.status != 202 && r.status != 404)
      std::cerr << "e2e clean-up: DELETE " << *it << ": " << r.status << " " << r.body << "\n";
  }
  if (namespace_created_) {
    const auto r = call("DELETE", "/api/v1/namespaces/" + ns_);
    if (r.status != 200 && r.status != 202)
      std::cerr << "e2e clean-up: DELETE namespace " << ns_ << ": " << r.status << "\n";
  }
  std::error_code ignored;
  if (!std::getenv("LEASE_ELECTOR_KEEP_LOGS")) fs::remove_all(work_dir_, ignored);
  std::cout << "e2e: cleaned up namespace " << ns_ << std::endl;
}

}  // namespace le::e2e
