// fake-apiserver: wiring only. Parses flags, builds the store, auth, API logic and listeners,
// announces where it listens on stdout, and runs until SIGINT/SIGTERM.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "admin_api.h"
#include "api_front.h"
#include "api_server.h"
#include "endpoint_slice_strategy.h"
#include "event_strategy.h"
#include "files.h"
#include "kube_version.h"
#include "kubeconfig.h"
#include "lease_strategy.h"
#include "options.h"
#include "pod_strategy.h"
#include "tls_certs.h"

namespace {

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "fake-apiserver: " << message << "\n(see --help)\n";
  std::exit(2);
}

std::string read_flag_file(const char* flag, const std::string& path) {
  auto text = fake::read_file(path);
  if (!text) usage_error(std::string(flag) + ": cannot read " + path);
  return *text;
}

std::string make_state_dir(const std::optional<std::string>& requested) {
  namespace fs = std::filesystem;
  if (requested) {
    std::error_code ec;
    fs::create_directories(*requested, ec);
    if (ec) usage_error("--state-dir: cannot create " + *requested + ": " + ec.message());
    return fs::absolute(*requested).string();
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/fake-apiserver-XXXXXX";
  if (!::mkdtemp(pattern.data())) usage_error("cannot create a state directory under " + pattern);
  return pattern;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fake;
  const auto parsed = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (const auto* error = std::get_if<std::string>(&parsed)) usage_error(*error);
  const Options& options = std::get<Options>(parsed);
  if (options.help) {
    std::cout << usage();
    return 0;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("fake-apiserver"));
  spdlog::set_level(options.verbose ? spdlog::level::debug : spdlog::level::info);

  TokenAuthenticator tokens = TokenAuthenticator::with_default_admin();
  if (options.token_file) {
    auto loaded = TokenAuthenticator::from_csv(read_flag_file("--token-file", *options.token_file));
    if (auto* error = std::get_if<std::string>(&loaded))
      usage_error("--token-file " + *options.token_file + ": " + *error);
    tokens = std::move(std::get<TokenAuthenticator>(loaded));
  }
  Authorizer authorizer = Authorizer::allow_all_authenticated();
  if (options.rbac_file) {
    auto loaded = Authorizer::from_json(read_flag_file("--rbac-file", *options.rbac_file));
    if (auto* error = std::get_if<std::string>(&loaded))
      usage_error("--rbac-file " + *options.rbac_file + ": " + *error);
    authorizer = std::move(std::get<Authorizer>(loaded));
  }
  FaultRules faults;
  if (options.faults) {
    try {
      auto loaded = FaultRules::from_json(Json::parse(*options.faults));
      if (auto* error = std::get_if<std::string>(&loaded)) usage_error("--faults: " + *error);
      faults = std::get<FaultRules>(loaded);
    } catch (const Json::parse_error& e) {
      usage_error(std::string("--faults: ") + e.what());
    }
  }
  const auto api_endpoint = parse_endpoint(options.listen);
  if (!api_endpoint) usage_error("--listen: expected ADDR:PORT, got \"" + options.listen + "\"");
  const auto admin_endpoint = parse_endpoint(options.admin_listen);
  if (!admin_endpoint)
    usage_error("--admin-listen: expected ADDR:PORT, got \"" + options.admin_listen + "\"");

  ObjectStore store(options.watch_window);
  store.start_at(options.start_resource_version);
  if (options.data_file) {
    if (auto text = read_file(*options.data_file); text && !text->empty()) {
      try {
        store.load_json(Json::parse(*text));
      } catch (const std::exception& e) {
        usage_error("--data-file " + *options.data_file + ": " + e.what());
      }
    }
    const std::string path = *options.data_file;
    // Written after every change, before the answer goes out: a restart keeps every
    // acknowledged write (and, like etcd, maybe one whose answer was lost).
    store.subscribe([&store, path](const ChangeEvent&) {
      try {
        write_file_atomic(path, store.to_json().dump());
      } catch (const std::exception& e) {
        spdlog::error("persisting the store: {}", e.what());
      }
    });
  }

  IdGenerator ids = IdGenerator::from_entropy();
  Stats stats;
  // Looked up once: every version-specific rule comes from here (parse_options checked the name).
  const KubeVersion version = *kube_version(options.kube_version);
  ApiServer api(
      tokens, authorizer, store, ids, [] { return std::chrono::system_clock::now(); }, version);
  api.add_resource(std::make_unique<LeaseStrategy>(version));
  api.add_resource(std::make_unique<PodStrategy>(version));
  api.add_resource(std::make_unique<EndpointSliceStrategy>(options.endpointslice_version, version));
  api.add_resource(std::make_unique<EventStrategy>(version));
  AdminApi admin(faults, stats, tokens, store);

  boost::asio::io_context ioc{1};
  std::shared_ptr<boost::asio::ssl::context> ssl;
  std::optional<std::string> ca_file;
  if (options.tls) {
    const std::string state_dir = make_state_dir(options.state_dir);
    try {
      const GeneratedPki pki = generate_pki();
      ca_file = state_dir + "/ca.crt";
      write_file_atomic(*ca_file, pki.ca_cert_pem);
      ssl = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
      ssl->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                       boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                       boost::asio::ssl::context::no_tlsv1_1);
      ssl->use_certificate_chain(boost::asio::buffer(pki.server_cert_pem));
      ssl->use_private_key(boost::asio::buffer(pki.server_key_pem), boost::asio::ssl::context::pem);
    } catch (const std::exception& e) {
      std::cerr << "fake-apiserver: " << e.what() << "\n";
      return 1;
    }
  }

  ApiFront api_front(ioc, api, store, faults, stats, ids,
                     [&api](const std::string& resource) { return api.find_resource(resource); });
  AdminFront admin_front([&admin](const ApiRequest& r) { return admin.handle(r); });
  std::shared_ptr<HttpListener> api_listener;
  std::shared_ptr<HttpListener> admin_listener;
  try {
    api_listener = std::make_shared<HttpListener>(ioc, *api_endpoint, ssl, api_front);
  } catch (const std::exception& e) {
    std::cerr << "fake-apiserver: --listen " << options.listen << ": " << e.what() << "\n";
    return 1;
  }
  try {
    admin_listener = std::make_shared<HttpListener>(ioc, *admin_endpoint, nullptr, admin_front);
  } catch (const std::exception& e) {
    std::cerr << "fake-apiserver: --admin-listen " << options.admin_listen << ": " << e.what() << "\n";
    return 1;
  }
  api_listener->run();
  admin_listener->run();

  const std::string url =
      std::string(options.tls ? "https://" : "http://") + url_host_port(api_listener->local_endpoint());
  const std::string admin_url = "http://" + url_host_port(admin_listener->local_endpoint());
  const std::string kube_user = options.kubeconfig_user.value_or("admin");
  const auto kube_token = tokens.token_for(kube_user);
  if (options.kubeconfig_out) {
    if (!kube_token) usage_error("--kubeconfig-user: no token for user \"" + kube_user + "\"");
    try {
      write_file_atomic(*options.kubeconfig_out, render_kubeconfig({url, ca_file, kube_user, *kube_token}));
    } catch (const std::exception& e) {
      usage_error(std::string("--kubeconfig-out: ") + e.what());
    }
  }

  Json announce = Json::object();
  announce["url"] = url;
  announce["admin"] = admin_url;
  if (ca_file) announce["ca"] = *ca_file;
  if (options.kubeconfig_out)
    announce["kubeconfig"] = std::filesystem::absolute(*options.kubeconfig_out).string();
  if (kube_token) announce["token"] = *kube_token;
  announce["pid"] = ::getpid();
  announce["resourceVersion"] = std::to_string(store.resource_version());
  if (options.port_file) {
    try {
      write_file_atomic(*options.port_file, announce.dump() + "\n");
    } catch (const std::exception& e) {
      usage_error(std::string("--port-file: ") + e.what());
    }
  }
  std::cout << announce.dump() << std::endl;  // endl: tests read this line through a pipe

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    spdlog::info("signal {}, stopping", signal);
    ioc.stop();
  });
  spdlog::info("serving {} (admin {})", url, admin_url);
  ioc.run();
  return 0;
}
