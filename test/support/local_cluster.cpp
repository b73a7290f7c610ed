#include "local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace le::testing {

using namespace std::chrono;
namespace fs = std::filesystem;

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

namespace {

std::string make_work_dir() {
  std::string pattern = (fs::temp_directory_path() / "lease-elector-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
  return pattern;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

LocalCluster::LocalCluster(ClusterOptions options)
    : options_(std::move(options)), work_dir_(make_work_dir()) {
  const fs::path dir(work_dir_);
  const fs::path port_file = dir / "apiserver.json";
  kubeconfig_ = (dir / "kubeconfig").string();
  std::vector<std::string> argv{
      options_.apiserver_binary, "--listen",  "127.0.0.1:0", "--state-dir",     work_dir_,
      "--kubeconfig-out",        kubeconfig_, "--port-file", port_file.string()};
  if (options_.tls) argv.push_back("--tls");
  argv.insert(argv.end(), options_.extra_apiserver_flags.begin(), options_.extra_apiserver_flags.end());
  apiserver_ = std::make_unique<ChildProcess>(argv, (dir / "apiserver.log").string());
  const auto until = steady_clock::now() + seconds{20};
  while (!fs::exists(port_file) || !fs::exists(kubeconfig_)) {
    if (!apiserver_->running()) throw std::runtime_error("the local API server exited: " + apiserver_->log());
    if (steady_clock::now() > until)
      throw std::runtime_error("the local API server did not start: " + apiserver_->log());
    std::this_thread::sleep_for(milliseconds{10});
  }
  const auto ports = nlohmann::json::parse(read_file(port_file));
  api_url_ = ports.at("url").get<std::string>();
  admin_url_ = ports.at("admin").get<std::string>();
  admin_token_ = ports.value("token", std::string("admin-token"));
  if (options_.tls) {
    ca_file_ = ports.value("ca", (dir / "ca.crt").string());
    api_http_.set_ca_file(ca_file_);
  }
  api_http_.set_bearer_token(admin_token_);
}

LocalCluster::~LocalCluster() {
  for (auto& sidecar : sidecars_) sidecar.process.reset();
  apiserver_.reset();
  std::error_code ignored;
  if (!std::getenv("LEASE_ELECTOR_KEEP_LOGS")) fs::remove_all(work_dir_, ignored);
}

void LocalCluster::start_sidecar(std::size_t index, std::vector<std::string> extra_flags) {
  if (sidecars_.size() <= index) sidecars_.resize(index + 1);
  Sidecar& sidecar = sidecars_[index];
  sidecar.process.reset();
  sidecar.port = free_loopback_port();
  std::vector<std::string> argv{options_.sidecar_binary,
                                "--lease-name",
                                options_.lease_name,
                                "--namespace",
                                "default",
                                "--id",
                                identity(index),
                                "--http",
                                "127.0.0.1:" + std::to_string(sidecar.port),
                                "--lease-duration",
                                options_.lease_duration,
                                "--renew-deadline",
                                options_.renew_deadline,
                                "--retry-period",
                                options_.retry_period,
                                "--release-delay",
                                options_.release_delay,
                                "--log-level",
                                "debug"};
  std::vector<std::string> env;
  if (options_.user_per_replica) {
    const std::string token = "token-" + identity(index);
    post_tokens({{"token", token}, {"user", identity(index)}, {"groups", {"system:masters"}}});
    std::string config = read_file(kubeconfig_);
    const auto at = config.find(admin_token_);
    if (at == std::string::npos) throw std::runtime_error("the kubeconfig does not carry the admin token");
    config.replace(at, admin_token_.size(), token);
    const std::string own = (fs::path(work_dir_) / ("kubeconfig-" + identity(index))).string();
    std::ofstream(own) << config;
    argv.insert(argv.end(), {"--kubeconfig", own});
  } else if (options_.kubeconfig_from_env) {
    env.push_back("KUBECONFIG=" + work_dir_ + "/missing-kubeconfig:" + kubeconfig_);
  } else {
    argv.insert(argv.end(), {"--kubeconfig", kubeconfig_});
  }
  if (options_.pod_env) {
    env.push_back("POD_NAME=" + identity(index));
    env.push_back("POD_IP=" + pod_ip(index));
    env.push_back("POD_UID=" + pod_uid(index));
  }
  if (!options_.pod_ip_for_all.empty()) env.push_back("POD_IP=" + options_.pod_ip_for_all);
  for (auto& flag : options_.extra_sidecar_flags) argv.push_back(flag);
  for (auto& flag : extra_flags) argv.push_back(flag);
  const std::string log = (fs::path(work_dir_) / (identity(index) + ".log")).string();
  // Earlier incarnations' logs are kept, for post-mortems and for their leadership terms, each under
  // a name of its own (two restarts within a second must not share one).
  if (!sidecar.logs.empty()) {
    const std::string old = log + "." + std::to_string(sidecar.logs.size()) + ".old";
    fs::rename(log, old);
    sidecar.logs.back() = old;
  }
  sidecar.logs.push_back(log);
  sidecar.process = std::make_unique<ChildProcess>(argv, log, env);
}

std::vector<LoggedTerm> LocalCluster::leadership_terms() const {
  std::vector<LoggedTerm> terms;
  for (std::size_t i = 0; i < sidecars_.size(); ++i) {
    for (const auto& log : sidecars_[i].logs) {
      const auto found = parse_leadership_terms(read_file(log), i);
      terms.insert(terms.end(), found.begin(), found.end());
    }
  }
  return terms;
}

LeaderView LocalCluster::leader_view(std::size_t index) {
  LeaderView view;
  const Sidecar& sidecar = sidecars_.at(index);
  if (!sidecar.process) return view;
  auto answer = http_.get("http://127.0.0.1:" + std::to_string(sidecar.port) + "/leader",
                          options_.leader_answer_timeout);
  if (answer.status != 200) return view;
  auto body = nlohmann::json::parse(answer.body, nullptr, false);
  if (body.is_discarded()) return view;
  view.answered = true;
  view.is_leader = body.value("isLeader", false);
  view.name = body.value("name", std::string());
  view.body = std::move(body);
  return view;
}

std::vector<std::size_t> LocalCluster::leaders() {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < sidecars_.size(); ++i) {
    if (sidecars_[i].process && sidecars_[i].process->running() && leader_view(i).is_leader) out.push_back(i);
  }
  if (out.size() > 1) ++split_brain_sweeps_;
  return out;
}

std::optional<std::pair<std::size_t, nanoseconds>> LocalCluster::wait_for_leader(
    milliseconds timeout, std::optional<std::size_t> except) {
  const auto start = steady_clock::now();
  while (steady_clock::now() - start < timeout) {
    for (std::size_t i : leaders()) {
      if (!except || i != *except) return std::pair{i, steady_clock::now() - start};
    }
    std::this_thread::sleep_for(milliseconds{2});
  }
  return std::nullopt;
}

nlohmann::json LocalCluster::read_lease() {
  auto answer = api_http_.get(api_url_ + "/apis/coordination.k8s.io/v1/namespaces/default/leases/" +
                              options_.lease_name);
  if (answer.status == 404) return nullptr;
  if (answer.status != 200)
    throw std::runtime_error("reading the Lease failed: " + std::to_string(answer.status) + " " +
                             answer.error + answer.body);
  return nlohmann::json::parse(answer.body);
}

void LocalCluster::create_lease(const nlohmann::json& spec) {
  const nlohmann::json lease{{"apiVersion", "coordination.k8s.io/v1"},
                             {"kind", "Lease"},
                             {"metadata", {{"name", options_.lease_name}, {"namespace", "default"}}},
                             {"spec", spec}};
  auto answer = api_http_.request("POST", api_url_ + "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                                  lease.dump());
  if (answer.status != 201)
    throw std::runtime_error("creating the Lease failed: " + std::to_string(answer.status) + " " +
                             answer.body + answer.error);
}

void LocalCluster::patch_lease(const nlohmann::json& patch) {
  auto answer = api_http_.request(
      "PATCH", api_url_ + "/apis/coordination.k8s.io/v1/namespaces/default/leases/" + options_.lease_name,
      patch.dump(), "application/merge-patch+json");
  if (answer.status != 200)
    throw std::runtime_error("patching the Lease failed: " + std::to_string(answer.status) + " " +
                             answer.body + answer.error);
}

void LocalCluster::set_faults(const nlohmann::json& faults) {
  auto answer = http_.request("PUT", admin_url_ + "/faults", faults.dump());
  if (answer.status != 200)
    throw std::runtime_error("setting faults failed: " + std::to_string(answer.status) + " " + answer.body +
                             answer.error);
}

nlohmann::json LocalCluster::stats() {
  auto answer = http_.get(admin_url_ + "/stats");
  if (answer.status != 200)
    throw std::runtime_error("reading stats failed: " + std::to_string(answer.status) + " " + answer.error);
  return nlohmann::json::parse(answer.body);
}

void LocalCluster::reset_stats() {
  auto answer = http_.request("POST", admin_url_ + "/stats/reset", "");
  if (answer.status != 200)
    throw std::runtime_error("resetting stats failed: " + std::to_string(answer.status) + " " + answer.error);
}

void LocalCluster::post_tokens(const nlohmann::json& request) {
  auto answer = http_.request("POST", admin_url_ + "/tokens", request.dump());
  if (answer.status != 200)
    throw std::runtime_error("changing tokens failed: " + std::to_string(answer.status) + " " + answer.body +
                             answer.error);
}

HttpAnswer LocalCluster::api_request(const std::string& method, const std::string& path,
                                     const std::string& body, const std::string& content_type) {
  return api_http_.request(method, api_url_ + path, body, content_type);
}

void LocalCluster::create_pod(const std::string& name, const nlohmann::json& labels) {
  const nlohmann::json pod{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
      {"spec",
       {{"containers", nlohmann::json::array({{{"name", "app"}, {"image", "example/app:1"}}})},
        {"readinessGates", nlohmann::json::array({{{"conditionType", "lease-elector.io/leader"}}})}}}};
  auto answer = api_request("POST", "/api/v1/namespaces/default/pods", pod.dump());
  if (answer.status != 201)
    throw std::runtime_error("creating pod " + name + " failed: " + std::to_string(answer.status) + " " +
                             answer.body + answer.error);
}

nlohmann::json LocalCluster::list_pods(const std::string& selector) {
  std::string escaped;
  for (char c : selector) {
    if (c == '=')
      escaped += "%3D";
    else if (c == '/')
      escaped += "%2F";
    else if (c == ',')
      escaped += "%2C";
    else
      escaped += c;
  }
  auto answer = api_request("GET", "/api/v1/namespaces/default/pods?labelSelector=" + escaped);
  if (answer.status != 200)
    throw std::runtime_error("listing pods failed: " + std::to_string(answer.status) + " " + answer.body +
                             answer.error);
  return nlohmann::json::parse(answer.body).at("items");
}

}  // namespace le::testing
