// Kubeconfig loading as client-go's clientcmd does it, for the subset of auth a sidecar needs:
// bearer token (inline or file), client certificate, CA (file or inline), insecure-skip-tls-verify.
#include <map>
#include <stdexcept>
#include <system_error>

#include <yaml-cpp/yaml.h>

#include "kube/base64.h"
#include "kube/cluster_config.h"

namespace le::kube {
namespace {

namespace fs = std::filesystem;

// Thrown inside this file only; every public function turns it into an error message.
struct KubeconfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct NamedEntry {
  YAML::Node body;  // the "cluster", "user" or "context" map
  fs::path file;    // the file it came from: relative paths resolve against its directory
};

struct MergedConfig {
  std::string current_context;
  fs::path current_context_file;
  std::map<std::string, NamedEntry> clusters, users, contexts;
};

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// A scalar string field; absent or null → nullopt. A map or list where a string belongs is an error.
std::optional<std::string> string_field(const YAML::Node& map, const char* key, const std::string& where) {
  const YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  if (!value.IsScalar()) throw KubeconfigError(where + ": field " + key + " must be a string");
  return value.as<std::string>();
}

bool bool_field(const YAML::Node& map, const char* key, const std::string& where) {
  const YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) return false;
  bool result = false;
  if (!value.IsScalar() || !YAML::convert<bool>::decode(value, result)) {
    throw KubeconfigError(where + ": field " + key + " must be true or false");
  }
  return result;
}

// clientcmd's ResolveLocalPaths: relative paths are relative to the kubeconfig that holds them.
std::string resolve_path(const std::string& path, const fs::path& file) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (file.parent_path() / path).lexically_normal().string();
}

std::string decode_data(const std::string& value, const char* key, const std::string& where) {
  auto decoded = decode_base64(value);
  if (!decoded) throw KubeconfigError(where + ": field " + key + " is not valid base64");
  return *decoded;
}

// Adds one file's named entries; names already present stay (clientcmd: the first file to set a
// map key wins).
void add_named(std::map<std::string, NamedEntry>& into, const YAML::Node& root, const char* list_key,
               const char* body_key, const fs::path& file) {
  const YAML::Node list = root[list_key];
  if (!list.IsDefined() || list.IsNull()) return;
  const std::string where = "kubeconfig " + file.string();
  if (!list.IsSequence()) throw KubeconfigError(where + ": " + list_key + " must be a list");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string item_where = where + ": " + list_key + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) throw KubeconfigError(item_where + " must be a map");
    const auto name = string_field(item, "name", item_where);
    if (!name || name->empty()) throw KubeconfigError(item_where + " has no name");
    YAML::Node body = item[body_key];
    if (body.IsDefined() && !body.IsNull() && !body.IsMap()) {
      throw KubeconfigError(item_where + " (" + quoted(*name) + "): " + body_key + " must be a map");
    }
    into.try_emplace(*name, NamedEntry{body.IsMap() ? body : YAML::Node(YAML::NodeType::Map), file});
  }
}

void merge_file(MergedConfig& merged, const fs::path& file) {
  const std::string where = "kubeconfig " + file.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw KubeconfigError(where + ": cannot be read");
  } catch (const YAML::Exception& e) {
    throw KubeconfigError(where + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) return;  // an empty file is an empty config, as in clientcmd
  if (!root.IsMap()) throw KubeconfigError(where + ": the top level must be a map");
  if (merged.current_context.empty()) {
    if (auto current = string_field(root, "current-context", where); current && !current->empty()) {
      merged.current_context = *current;
      merged.current_context_file = file;
    }
  }
  add_named(merged.clusters, root, "clusters", "cluster", file);
  add_named(merged.users, root, "users", "user", file);
  add_named(merged.contexts, root, "contexts", "context", file);
}

void apply_cluster(ClusterConfig& config, const std::string& name, const NamedEntry& entry) {
  const std::string where = "kubeconfig " + entry.file.string() + ": cluster " + quoted(name);
  const YAML::Node& cluster = entry.body;
  auto server = string_field(cluster, "server", where).value_or("");
  if (server.empty()) throw KubeconfigError(where + " has no server");
  // rest.DefaultServerURL: a bare host:port means https.
  if (server.find("://") == std::string::npos) server = "https://" + server;
  while (server.size() > 1 && server.back() == '/') server.pop_back();
  config.server = server;
  config.ca_file =
      resolve_path(string_field(cluster, "certificate-authority", where).value_or(""), entry.file);
  if (auto data = string_field(cluster, "certificate-authority-data", where)) {
    config.ca_pem = decode_data(*data, "certificate-authority-data", where);
  }
  config.insecure_skip_tls_verify = bool_field(cluster, "insecure-skip-tls-verify", where);
  // client-go's transport refuses this pair ("specifying a root certificates file with the
  // insecure flag is not allowed"): the operator meant one or the other.
  if (config.insecure_skip_tls_verify && (!config.ca_file.empty() || !config.ca_pem.empty())) {
    throw KubeconfigError(where +
                          ": insecure-skip-tls-verify and certificate-authority(-data) are both set; "
                          "choose one");
  }
}

void apply_user(ClusterConfig& config, const std::string& name, const NamedEntry& entry) {
  const std::string where = "kubeconfig " + entry.file.string() + ": user " + quoted(name);
  const YAML::Node& user = entry.body;
  // Auth this program does not implement. Failing here beats running unauthenticated (or as
  // someone else, for impersonation) and reading 403s later.
  for (const char* unsupported :
       {"exec", "auth-provider", "username", "password", "as", "as-uid", "as-groups", "as-user-extra"}) {
    const YAML::Node value = user[unsupported];
    if (value.IsDefined() && !value.IsNull()) {
      throw KubeconfigError(where + " uses " + unsupported +
                            ", which lease-elector does not support (use token, tokenFile or "
                            "client-certificate/client-key)");
    }
  }
  config.token = string_field(user, "token", where).value_or("");
  config.token_file = resolve_path(string_field(user, "tokenFile", where).value_or(""), entry.file);
  config.client_cert_file =
      resolve_path(string_field(user, "client-certificate", where).value_or(""), entry.file);
  config.client_key_file = resolve_path(string_field(user, "client-key", where).value_or(""), entry.file);
  if (auto data = string_field(user, "client-certificate-data", where)) {
    config.client_cert_pem = decode_data(*data, "client-certificate-data", where);
  }
  if (auto data = string_field(user, "client-key-data", where)) {
    config.client_key_pem = decode_data(*data, "client-key-data", where);
  }
  const bool has_cert = !config.client_cert_file.empty() || !config.client_cert_pem.empty();
  const bool has_key = !config.client_key_file.empty() || !config.client_key_pem.empty();
  if (has_cert != has_key) {
    throw KubeconfigError(where + " has " +
                          (has_cert ? "a client certificate but no client-key(-data)"
                                    : "a client key but no client-certificate(-data)"));
  }
}

ClusterConfig resolve_current(const MergedConfig& merged, const std::string& source) {
  if (merged.current_context.empty())
    throw KubeconfigError("kubeconfig " + source + ": current-context is not set");
  const std::string& context_name = merged.current_context;
  const auto context_it = merged.contexts.find(context_name);
  if (context_it == merged.contexts.end()) {
    throw KubeconfigError("kubeconfig " + source + ": context " + quoted(context_name) +
                          " (the current-context) is not defined");
  }
  const NamedEntry& context = context_it->second;
  const std::string where = "kubeconfig " + context.file.string() + ": context " + quoted(context_name);
  const auto cluster_name = string_field(context.body, "cluster", where).value_or("");
  if (cluster_name.empty()) throw KubeconfigError(where + " names no cluster");
  const auto cluster_it = merged.clusters.find(cluster_name);
  if (cluster_it == merged.clusters.end()) {
    throw KubeconfigError(where + ": cluster " + quoted(cluster_name) + " is not defined in kubeconfig " +
                          source);
  }
  ClusterConfig config;
  apply_cluster(config, cluster_name, cluster_it->second);
  // A context without a user is anonymous, which clientcmd allows; a named but missing one is a typo.
  const auto user_name = string_field(context.body, "user", where).value_or("");
  if (!user_name.empty()) {
    const auto user_it = merged.users.find(user_name);
    if (user_it == merged.users.end()) {
      throw KubeconfigError(where + ": user " + quoted(user_name) + " is not defined in kubeconfig " +
                            source);
    }
    apply_user(config, user_name, user_it->second);
  }
  if (auto ns = string_field(context.body, "namespace", where); ns && !ns->empty())
    config.context_namespace = *ns;
  config.source = source;
  return config;
}

}  // namespace

std::vector<fs::path> split_kubeconfig_env(const std::string& value) {
  std::vector<fs::path> paths;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(':', start);
    if (end == std::string::npos) end = value.size();
    if (end > start) {
      fs::path path = value.substr(start, end - start);
      bool seen = false;
      for (const auto& existing : paths) seen = seen || existing == path;
      if (!seen) paths.push_back(std::move(path));
    }
    start = end + 1;
  }
  return paths;
}

ConfigResult<ClusterConfig> load_kubeconfig(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string{"kubeconfig " + path.string() + ": file does not exist"};
  return load_kubeconfig_list({path});
}

ConfigResult<ClusterConfig> load_kubeconfig_list(const std::vector<fs::path>& paths) {
  try {
    MergedConfig merged;
    std::string source;
    for (const auto& path : paths) {
      std::error_code ec;
      if (!fs::exists(path, ec)) continue;  // clientcmd skips missing KUBECONFIG entries
      merge_file(merged, path);
      source += (source.empty() ? "" : ":") + path.string();
    }
    if (source.empty()) {
      std::string listed;
      for (const auto& path : paths) listed += (listed.empty() ? "" : ":") + path.string();
      return std::string{"kubeconfig: none of " + listed + " exists"};
    }
    return resolve_current(merged, source);
  } catch (const KubeconfigError& e) {
    return std::string{e.what()};
  } catch (const YAML::Exception& e) {
    // A scalar of the wrong shape deep inside, which the helpers above did not anticipate.
    return std::string("kubeconfig: ") + e.what();
  }
}

}  // namespace le::kube
