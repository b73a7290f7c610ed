#pragma once
// Command line of fake-apiserver. Exit status 2 and a message naming the flag on a bad flag.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace fake {

struct Options {
  std::string listen = "127.0.0.1:0";
  std::string admin_listen = "127.0.0.1:0";
  bool tls = false;
  std::optional<std::string> state_dir;
  std::optional<std::string> port_file;
  std::optional<std::string> kubeconfig_out;
  std::optional<std::string> kubeconfig_user;
  std::optional<std::string> token_file;
  std::optional<std::string> rbac_file;
  std::optional<std::string> data_file;
  std::optional<std::string> faults;  // initial faults, JSON as PUT /faults takes
  std::size_t watch_window = 1000;
  std::uint64_t start_resource_version = 0;
  // The one discovery.k8s.io version EndpointSlices are served in: v1 (1.21+), or v1beta1 to
  // look like a 1.20 server.
  std::string endpointslice_version = "v1";
  // The Kubernetes version whose answers are imitated where 1.20 and 1.37 differ (kube_version.h).
  std::string kube_version = "1.20";
  bool verbose = false;
  bool help = false;
};

// A string result is the error message.
std::variant<Options, std::string> parse_options(const std::vector<std::string>& args);
const char* usage();

}  // namespace fake
