#pragma once
// A kubeconfig pointing at this server, as kubectl and client libraries read it: one cluster (with
// certificate-authority when TLS), one token user, one context in namespace "default", current.
#include <optional>
#include <string>

namespace fake {

struct KubeconfigSpec {
  std::string server_url;
  std::optional<std::string> ca_file;  // absolute path of ca.crt
  std::string user;
  std::string token;
};

std::string render_kubeconfig(const KubeconfigSpec& spec);

}  // namespace fake
