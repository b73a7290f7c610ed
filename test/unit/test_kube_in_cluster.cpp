#include <doctest/doctest.h>

#include "kube/cluster_config.h"
#include "test_kube_support.h"

using le::kube::load_in_cluster;
using le::kube::resolve_cluster_config;
using le::kube::resolve_namespace;
using le::kube::testing::TempDir;
using le::util::map_environment;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void write_service_account(const TempDir& dir, const std::string& ns = "team-a") {
  dir.write("sa/token", "token-1\n");
  dir.write("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
  dir.write("sa/namespace", ns);
}

}  // namespace

TEST_CASE("in-cluster config reads the Service env and the ServiceAccount volume") {
  TempDir dir;
  write_service_account(dir);
  const auto sa = dir.path() / "sa";
  const auto result = load_in_cluster(
      map_environment({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}), sa);
  REQUIRE_MESSAGE(result.ok(), result.error());
  const auto& config = result.value();
  CHECK(config.server == "https://10.96.0.1:443");
  CHECK(config.ca_file == (sa / "ca.crt").string());
  // The file, not its content: the token rotates.
  CHECK(config.token_file == (sa / "token").string());
  CHECK(config.token.empty());
  CHECK(config.source == "in-cluster");
  CHECK_FALSE(config.insecure_skip_tls_verify);
}

TEST_CASE("in-cluster config brackets an IPv6 Service host") {
  TempDir dir;
  write_service_account(dir);
  const auto result = load_in_cluster(
      map_environment({{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}),
      dir.path() / "sa");
  REQUIRE_MESSAGE(result.ok(), result.error());
  CHECK(result.value().server == "https://[fd00:10:96::1]:443");
}

TEST_CASE("in-cluster config fails clearly without the env or the ServiceAccount files") {
  TempDir dir;
  const auto sa = dir.path() / "sa";
  const auto no_port = load_in_cluster(map_environment({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}), sa);
  REQUIRE_FALSE(no_port.ok());
  CHECK(contains(no_port.error(), "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"));

  const auto env =
      map_environment({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  const auto no_token = load_in_cluster(env, sa);
  REQUIRE_FALSE(no_token.ok());
  CHECK(contains(no_token.error(), (sa / "token").string()));

  dir.write("sa/token", "t");
  const auto no_ca = load_in_cluster(env, sa);
  REQUIRE_FALSE(no_ca.ok());
  CHECK(contains(no_ca.error(), (sa / "ca.crt").string()));
}

TEST_CASE("credentials: --kubeconfig, then KUBECONFIG, then in-cluster, then $HOME/.kube/config") {
  TempDir dir;
  write_service_account(dir);
  const auto sa = dir.path() / "sa";
  const auto config_for = [&](const std::string& server) {
    return "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: " + server +
           "\ncontexts:\n- name: x\n  context:\n    cluster: c\n";
  };
  const auto flag_file = dir.write("flag.yaml", config_for("https://flag"));
  const auto env_file = dir.write("env.yaml", config_for("https://env"));
  dir.write("home/.kube/config", config_for("https://home"));
  const std::string home = (dir.path() / "home").string();
  const std::map<std::string, std::string> all = {{"KUBECONFIG", env_file.string()},
                                                  {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                  {"KUBERNETES_SERVICE_PORT", "443"},
                                                  {"HOME", home}};

  auto server_of = [&](std::optional<std::string> flag, std::map<std::string, std::string> env) {
    const auto result = resolve_cluster_config(std::move(flag), map_environment(std::move(env)), sa);
    REQUIRE_MESSAGE(result.ok(), result.error());
    return result.value().server;
  };
  CHECK(server_of(flag_file.string(), all) == "https://flag");
  CHECK(server_of(std::nullopt, all) == "https://env");
  auto without_kubeconfig = all;
  without_kubeconfig.erase("KUBECONFIG");
  CHECK(server_of(std::nullopt, without_kubeconfig) == "https://10.96.0.1:443");
  CHECK(server_of(std::nullopt, {{"HOME", home}}) == "https://home");

  // An explicit choice that fails is an error, not a fallback to other credentials.
  const auto bad_flag = resolve_cluster_config((dir.path() / "nope").string(), map_environment(all), sa);
  REQUIRE_FALSE(bad_flag.ok());
  CHECK(contains(bad_flag.error(), "nope"));
  const auto bad_env =
      resolve_cluster_config(std::nullopt, map_environment({{"KUBECONFIG", "/no/such"}}), sa);
  REQUIRE_FALSE(bad_env.ok());
  CHECK(contains(bad_env.error(), "KUBECONFIG=/no/such"));

  const auto nothing = resolve_cluster_config(std::nullopt, map_environment({{"HOME", "/no/home"}}), sa);
  REQUIRE_FALSE(nothing.ok());
  for (const char* tried :
       {"--kubeconfig", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "/no/home/.kube/config"}) {
    CHECK(contains(nothing.error(), tried));
  }
}

TEST_CASE("namespace: --namespace, POD_NAMESPACE, the ServiceAccount file, the kubeconfig context, default") {
  TempDir dir;
  write_service_account(dir, "  from-file \n");
  const auto sa = dir.path() / "sa";
  const auto pod_env = map_environment({{"POD_NAMESPACE", "from-env"}});
  const auto empty_env = map_environment({});
  CHECK(resolve_namespace("from-flag", pod_env, sa, "from-context") == "from-flag");
  CHECK(resolve_namespace(std::string(), pod_env, sa, "from-context") == "from-env");
  CHECK(resolve_namespace(std::nullopt, pod_env, sa, "from-context") == "from-env");
  CHECK(resolve_namespace(std::nullopt, empty_env, sa, "from-context") == "from-file");
  CHECK(resolve_namespace(std::nullopt, empty_env, dir.path() / "absent", "from-context") == "from-context");
  CHECK(resolve_namespace(std::nullopt, empty_env, dir.path() / "absent", std::nullopt) == "default");
  dir.write("sa/namespace", " \n");
  CHECK(resolve_namespace(std::nullopt, empty_env, sa, std::nullopt) == "default");
}
