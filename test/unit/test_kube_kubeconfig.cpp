#include <doctest/doctest.h>

#include "kube/base64.h"
#include "kube/cluster_config.h"
#include "test_kube_support.h"

using le::kube::decode_base64;
using le::kube::load_kubeconfig;
using le::kube::load_kubeconfig_list;
using le::kube::split_kubeconfig_env;
using le::kube::testing::TempDir;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A kubeconfig with one context "ctx" -> cluster "c", user "u", with the given bodies.
std::string kubeconfig(const std::string& cluster_body, const std::string& user_body,
                       const std::string& context_extra = "") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"
         "clusters:\n- name: c\n  cluster:\n" +
         cluster_body + "users:\n- name: u\n  user:\n" + user_body +
         "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n" + context_extra;
}

}  // namespace

TEST_CASE("base64 as kubeconfig's -data fields use it") {
  CHECK(decode_base64("Q0VSVA==") == "CERT");
  CHECK(decode_base64("S0VZ") == "KEY");
  CHECK(decode_base64("") == "");
  CHECK(decode_base64("Q0VS\nVA==\n") == "CERT");
  CHECK(decode_base64("Zm9vYg==") == "foob");
  CHECK(decode_base64("Zm9vYmE=") == "fooba");
  for (const std::string bad : {"Q0VSVA=", "Q0V*VA==", "=Q0VSVA=", "Q0==VSVA", "Zm9v=mE="}) {
    CAPTURE(bad);
    CHECK_FALSE(decode_base64(bad));
  }
}

TEST_CASE("kubeconfig with an inline token, a CA file relative to the kubeconfig, and a context namespace") {
  TempDir dir;
  dir.write("conf/ca.crt", "CA");
  const auto path =
      dir.write("conf/config", kubeconfig("    server: https://api.example:6443/\n"
                                          "    certificate-authority: ca.crt\n",
                                          "    token: secret-token\n", "    namespace: team-a\n"));
  const auto result = load_kubeconfig(path);
  REQUIRE_MESSAGE(result.ok(), result.error());
  const auto& config = result.value();
  CHECK(config.server == "https://api.example:6443");
  CHECK(config.ca_file == (dir.path() / "conf/ca.crt").string());
  CHECK(config.ca_pem.empty());
  CHECK(config.token == "secret-token");
  CHECK(config.token_file.empty());
  CHECK_FALSE(config.insecure_skip_tls_verify);
  CHECK(config.context_namespace == "team-a");
  CHECK(config.source == path.string());
}

TEST_CASE("kubeconfig with -data fields, tokenFile and client certificate files") {
  TempDir dir;
  const auto path = dir.write(
      "config",
      kubeconfig(
          "    server: https://[fd00::1]:6443\n"
          "    certificate-authority-data: "
          "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\n",
          "    tokenFile: tokens/t\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n"));
  const auto result = load_kubeconfig(path);
  REQUIRE_MESSAGE(result.ok(), result.error());
  const auto& config = result.value();
  CHECK(config.server == "https://[fd00::1]:6443");
  CHECK(config.ca_pem == "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
  CHECK(config.client_cert_pem == "CERT");
  CHECK(config.client_key_pem == "KEY");
  CHECK(config.token_file == (dir.path() / "tokens/t").string());
  CHECK_FALSE(config.context_namespace);

  const auto files =
      dir.write("files", kubeconfig("    server: https://h\n    insecure-skip-tls-verify: true\n",
                                    "    client-certificate: /abs/cert.pem\n"
                                    "    client-key: key.pem\n"));
  const auto with_files = load_kubeconfig(files);
  REQUIRE_MESSAGE(with_files.ok(), with_files.error());
  CHECK(with_files.value().insecure_skip_tls_verify);
  CHECK(with_files.value().client_cert_file == "/abs/cert.pem");
  CHECK(with_files.value().client_key_file == (dir.path() / "key.pem").string());
}

TEST_CASE("a bare host:port server means https, as in client-go") {
  TempDir dir;
  const auto result =
      load_kubeconfig(dir.write("config", kubeconfig("    server: 10.0.0.1:6443\n", "    token: t\n")));
  REQUIRE_MESSAGE(result.ok(), result.error());
  CHECK(result.value().server == "https://10.0.0.1:6443");
}

TEST_CASE("kubeconfig errors name the file and what is missing or unsupported") {
  TempDir dir;
  struct Case {
    const char* name;
    std::string content;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"no current-context", "apiVersion: v1\nclusters: []\n", {"current-context is not set"}},
      {"missing context",
       "current-context: nope\ncontexts:\n- name: ctx\n  context:\n    cluster: c\n",
       {"context \"nope\"", "not defined"}},
      {"missing cluster",
       "current-context: ctx\ncontexts:\n- name: ctx\n  context:\n    cluster: gone\n    user: u\n",
       {"context \"ctx\"", "cluster \"gone\" is not defined"}},
      {"context without cluster",
       "current-context: ctx\ncontexts:\n- name: ctx\n  context:\n    user: u\n",
       {"context \"ctx\" names no cluster"}},
      {"missing user",
       "current-context: ctx\nclusters:\n- name: c\n  cluster:\n    server: https://h\n"
       "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: ghost\n",
       {"user \"ghost\" is not defined"}},
      {"no server",
       kubeconfig("    certificate-authority: ca\n", "    token: t\n"),
       {"cluster \"c\" has no server"}},
      {"exec",
       kubeconfig("    server: https://h\n", "    exec:\n      command: aws\n"),
       {"user \"u\"", "exec"}},
      {"auth-provider",
       kubeconfig("    server: https://h\n", "    auth-provider:\n      name: gcp\n"),
       {"user \"u\"", "auth-provider"}},
      {"basic auth",
       kubeconfig("    server: https://h\n", "    username: admin\n    password: p\n"),
       {"user \"u\"", "username"}},
      {"bad base64",
       kubeconfig("    server: https://h\n",
                  "    client-certificate-data: '***'\n    client-key-data: S0VZ\n"),
       {"user \"u\"", "client-certificate-data is not valid base64"}},
      {"cert without key",
       kubeconfig("    server: https://h\n", "    client-certificate: c.pem\n"),
       {"user \"u\"", "no client-key"}},
      {"insecure with CA",
       kubeconfig(
           "    server: https://h\n    insecure-skip-tls-verify: true\n    certificate-authority: ca\n",
           "    token: t\n"),
       {"cluster \"c\"", "insecure-skip-tls-verify"}},
      {"bad bool",
       kubeconfig("    server: https://h\n    insecure-skip-tls-verify: maybe\n", "    token: t\n"),
       {"insecure-skip-tls-verify must be true or false"}},
      {"not yaml", "clusters: [\n", {"not valid YAML"}},
      {"token is a map",
       kubeconfig("    server: https://h\n", "    token:\n      a: b\n"),
       {"token must be a string"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto path = dir.write(std::string("config-") + std::to_string(&c - cases.data()), c.content);
    const auto result = load_kubeconfig(path);
    REQUIRE_FALSE(result.ok());
    CAPTURE(result.error());
    CHECK(contains(result.error(), path.string()));
    for (const auto& part : c.parts) CHECK(contains(result.error(), part));
  }
  const auto missing = load_kubeconfig(dir.path() / "absent");
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error(), (dir.path() / "absent").string()));
  CHECK(contains(missing.error(), "does not exist"));
}

TEST_CASE("KUBECONFIG lists merge as clientcmd merges: first definition and first current-context win") {
  TempDir dir;
  const auto first = dir.write("a/config",
                               "current-context: ctx\n"
                               "clusters:\n- name: c\n  cluster:\n    server: https://first\n"
                               "    certificate-authority: ca-a.crt\n");
  const auto second = dir.write("b/config",
                                "current-context: other\n"
                                "clusters:\n- name: c\n  cluster:\n    server: https://second\n"
                                "users:\n- name: u\n  user:\n    tokenFile: tok\n"
                                "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n");
  const auto result = load_kubeconfig_list({dir.path() / "missing", first, second});
  REQUIRE_MESSAGE(result.ok(), result.error());
  CHECK(result.value().server == "https://first");
  CHECK(result.value().ca_file == (dir.path() / "a/ca-a.crt").string());
  // The user came from the second file, so its relative path resolves against that file's folder.
  CHECK(result.value().token_file == (dir.path() / "b/tok").string());
  CHECK(result.value().source == first.string() + ":" + second.string());

  const auto none = load_kubeconfig_list({dir.path() / "x", dir.path() / "y"});
  REQUIRE_FALSE(none.ok());
  CHECK(contains(none.error(), "none of"));

  CHECK(split_kubeconfig_env("/a::/b:/a:") == std::vector<std::filesystem::path>{"/a", "/b"});
}
