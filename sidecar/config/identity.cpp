#include "config/identity.h"

#include <unistd.h>

#include <cstdio>
#include <random>

namespace le::config {

std::string default_identity(const util::Environment& env, const std::function<std::string()>& hostname,
                             const std::function<unsigned()>& random32) {
  if (auto pod = env("POD_NAME")) return *pod;
  std::string host = hostname();
  if (host.empty()) host = "lease-elector";
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", random32());
  return host + "-" + suffix;
}

std::string default_identity(const util::Environment& env) {
  return default_identity(
      env,
      [] {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) != 0) return std::string();
        return std::string(host);
      },
      [] { return static_cast<unsigned>(std::random_device{}()); });
}

}  // namespace le::config
