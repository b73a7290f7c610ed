// lease-elector: wiring only. Parse the configuration, find the API server, start the HTTP
// endpoints on one thread and the election loop on this one, and hand the Lease over on SIGTERM.

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "config/config.h"
#include "config/identity.h"
#include "election/clock.h"
#include "election/election_loop.h"
#include "election/elector.h"
#include "election/leadership_log.h"
#include "election/snapshot.h"
#include "election/timing_rules.h"
#include "http/admin_routes.h"
#include "http/app_health_probe.h"
#include "http/election_routes.h"
#include "http/leader_feed.h"
#include "http/metrics_route.h"
#include "http/server.h"
#include "http/webhook.h"
#include "kube/api_metrics.h"
#include "kube/cluster_config.h"
#include "kube/curl_transport.h"
#include "kube/election_events.h"
#include "kube/endpoint_slice_client.h"
#include "kube/event_recorder.h"
#include "kube/lease_client.h"
#include "kube/lease_watcher.h"
#include "kube/pod_client.h"
#include "proxy/proxy_server.h"
#include "proxy/term_gate.h"
#include "run/install.h"
#include "run/run_supervisor.h"
#include "traffic/mode_factory.h"
#include "traffic/traffic_controller.h"
#include "traffic/traffic_loop.h"
#include "util/file_limit.h"
#include "util/logging.h"
#include "util/micro_time.h"
#include "util/version.h"

namespace {

using namespace std::chrono;
namespace asio = boost::asio;

constexpr int kExitRuntimeFailure = 1;
constexpr int kExitBadConfiguration = 2;
constexpr int kHttpThreads = 2;
// Open HTTP connections at most: long polls and event streams each hold one for minutes. Each is a
// descriptor, so the cap is also kept kFileReserve below the open-file limit, for the API
// connections, the log and the files the sidecar reads.
constexpr std::size_t kMaxHttpConnections = 4096;
constexpr std::uint64_t kFileReserve = 128;
// The proxy's client connections at most (each with a connection to the app: two descriptors).
constexpr std::size_t kMaxProxyConnections = 16384;
// Before a release, how long the proxy's open exchanges may take to close; past it the Lease is not
// released but left to expire (Elector::set_before_release).
constexpr milliseconds kProxyCloseBudget{1000};
// After the hand-over, how long queued Events may still take to send before the process exits. It
// comes out of the grace period's margin: the shutdown budget (25 s) plus this stays below 30 s.
constexpr milliseconds kEventFlushBudget{2000};
static_assert(le::election::timing::kShutdownBudget + kEventFlushBudget <
              le::election::timing::kTerminationGracePeriod);

asio::ip::tcp::endpoint resolve_listen_address(asio::io_context& io, const std::string& host,
                                               std::uint16_t port, const char* flag) {
  asio::ip::tcp::resolver resolver(io);
  auto results =
      resolver.resolve(host, std::to_string(port),
                       asio::ip::resolver_base::passive | asio::ip::resolver_base::numeric_service);
  if (results.empty()) throw std::runtime_error(std::string("cannot resolve ") + flag + " host " + host);
  return results.begin()->endpoint();
}

// "10.1.2.3:4080" or "[fd00::1]:4080", as main writes LeaderRecord::holder_address.
std::optional<asio::ip::tcp::endpoint> parse_holder_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  unsigned port = 0;
  const auto port_text = std::string_view(text).substr(colon + 1);
  const auto [end, parse_ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec || parse_ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return asio::ip::tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

// The --route choice and its flags, as traffic/ takes them.
le::traffic::ModeSettings mode_settings(const le::config::Config& config) {
  le::traffic::ModeSettings settings;
  settings.kind = config.route;
  settings.pods = {config.pod_name, config.pod_selector};
  settings.label_key = config.leader_label_key;
  settings.label_value = config.leader_label_value;
  settings.readiness_gate = config.readiness_gate;
  settings.endpoints = {config.service, config.pod_name, config.pod_ip, {}};
  for (const auto& p : config.endpoint_ports)
    settings.endpoints.ports.push_back({p.name, p.port, p.protocol});
  return settings;
}

}  // namespace

int main(int argc, char** argv) {
  // libcurl with CURLOPT_NOSIGNAL cannot keep a peer's reset from raising SIGPIPE; an error
  // return is what every write path here handles.
  std::signal(SIGPIPE, SIG_IGN);
  le::util::setup_early_logging();
  const auto env = le::util::process_environment();
  const auto parsed = le::config::parse_command_line(std::vector<std::string>(argv + 1, argv + argc), env);
  switch (parsed.action) {
    case le::config::ParseOutcome::Action::help:
      std::cout << parsed.message;
      return 0;
    case le::config::ParseOutcome::Action::version:
      std::cout << parsed.message << "\n";
      return 0;
    case le::config::ParseOutcome::Action::install:
      if (const auto error = le::run::install_self(parsed.message)) {
        std::cerr << "lease-elector: --install-to: " << *error << "\n";
        return kExitRuntimeFailure;
      }
      std::cout << "installed lease-elector to " << parsed.message << "\n";
      return 0;
    case le::config::ParseOutcome::Action::error:
      std::cerr << "lease-elector: " << parsed.message << "\nRun 'lease-elector --help' for the flags.\n";
      return kExitBadConfiguration;
    case le::config::ParseOutcome::Action::run:
      break;
  }
  const le::config::Config& config = parsed.config;

  auto cluster = le::kube::resolve_cluster_config(config.kubeconfig, env);
  if (!cluster.ok()) {
    spdlog::error("cannot find the API server: {}", cluster.error());
    return kExitBadConfiguration;
  }
  const std::string ns = le::kube::resolve_namespace(config.namespace_name, env, le::kube::kServiceAccountDir,
                                                     cluster.value().context_namespace);
  const std::string identity = config.identity.value_or(le::config::default_identity(env));
  const std::string lease = ns + "/" + config.lease_name;
  le::util::setup_logging(config.log_level, config.log_format, lease, identity);
  for (const auto& note : parsed.notes) spdlog::info("{}", note);

  try {
    le::election::SystemClock clock;
    le::election::SnapshotBoard board;
    // At debug level, every leadership term goes to the log on the boot clock (the chaos suite's
    // split-brain checker reads it).
    le::election::LeadershipLog leadership_log(clock);
    if (spdlog::should_log(spdlog::level::debug)) {
      board.add_observer([&](const le::election::ElectionSnapshot& s) { leadership_log.on_snapshot(s); });
    }
    std::mt19937_64 random_engine{std::random_device{}()};
    std::uniform_real_distribution<double> uniform01(0.0, 1.0);

    const std::string server_url = cluster.value().server;
    const std::string source = cluster.value().source;
    // Every API connection counts into one ApiMetrics, each part into its own counters; /metrics
    // reads them all, lock-free.
    auto api_metrics = std::make_shared<le::kube::ApiMetrics>(le::kube::url_host(server_url));
    auto election_metrics = std::make_shared<le::election::ElectionMetrics>();
    auto routing_metrics = std::make_shared<le::traffic::RoutingMetrics>();
    auto transport = std::make_unique<le::kube::CurlTransport>(std::move(cluster.value()));
    transport->set_metrics(api_metrics);
    // The watch gets a connection of its own: a stream never delays a renewal.
    auto watch_transport = transport->make_independent();
    // The traffic thread gets connections of its own (make_independent), so it never waits on the
    // election's requests, nor they on its.
    const le::kube::CurlTransport& api = *transport;
    auto routing = le::traffic::make_mode(
        mode_settings(config),
        {[&] { return std::make_unique<le::kube::PodClient>(api.make_independent(), ns); },
         [&] { return std::make_unique<le::kube::EndpointSliceClient>(api.make_independent(), ns); }},
        clock);
    le::kube::LeaseClient lease_client(std::move(transport), ns, config.lease_name);

    le::election::ElectorConfig elector_config;
    elector_config.identity = identity;
    elector_config.lease_duration = config.lease_duration;
    elector_config.renew_deadline = config.renew_deadline;
    elector_config.retry_period = config.retry_period;
    elector_config.request_timeout = le::election::timing::request_timeout_for(config.renew_deadline);
    elector_config.read_before_renew = config.takeover == le::config::Takeover::poll;
    le::election::Elector elector(
        elector_config, lease_client, clock, board, [&] { return uniform01(random_engine); },
        election_metrics);
    // Events go out from a thread and a connection of their own: they never delay the election.
    le::kube::EventRecorderConfig events_config;
    events_config.instance = identity;
    le::kube::EventRecorder event_recorder(api.make_independent(), events_config);
    le::kube::ElectionEvents election_events(
        event_recorder, {identity, ns, config.lease_name, config.pod_name, config.pod_uid});
    elector.set_notice_sink([&](const le::election::ElectionNotice& n) { election_events.on_notice(n); });
    le::election::ElectionLoop loop(elector, clock, config.release_delay);
    // The watcher has its own random engine: it runs on its own thread. It shares the Lease client's
    // object cache, so the elector can update a Lease it learned of from a watch event.
    std::mt19937_64 watch_random_engine{std::random_device{}()};
    le::kube::LeaseWatcher watcher(
        std::move(watch_transport), ns, config.lease_name, loop,
        [&] { return uniform01(watch_random_engine); }, {}, lease_client.objects());
    watcher.set_metrics(api_metrics);

    std::optional<le::traffic::TrafficController> controller;
    std::optional<le::traffic::TrafficLoop> traffic_loop;
    if (routing.mode) {
      le::traffic::TrafficControllerConfig controller_config;
      controller_config.identity = identity;
      controller_config.namespace_name = ns;
      controller_config.request_timeout = duration_cast<milliseconds>(elector_config.request_timeout);
      // The stray check runs once per renewal period.
      controller_config.check_period = config.retry_period;
      controller_config.stopping_request_timeout =
          duration_cast<milliseconds>(elector_config.stopping_request_timeout);
      controller_config.on_forbidden = [&](const std::string& message) {
        election_events.on_routing_forbidden(message);
      };
      controller.emplace(*routing.mode, board, clock, controller_config, routing_metrics);
      traffic_loop.emplace(*controller, clock);
    }

    // The HTTP threads run one io_context each (see http::Server: a connection then needs no strand
    // and no thread wakes another); the first one also runs the sidecar's own asynchronous work
    // (the feed's timer, the app's probe, the webhook, signals), the others only connections.
    // The others first, so that they are destroyed after io: io's pending accept holds a socket made
    // for one of them (http::Server accepts on io for every thread), which io's destructor destroys.
    std::vector<std::unique_ptr<asio::io_context>> http_only_io;
    for (int i = 1; i < kHttpThreads; ++i) http_only_io.push_back(std::make_unique<asio::io_context>(1));
    asio::io_context io(1);
    std::vector<asio::io_context*> http_io{&io};
    for (const auto& context : http_only_io) http_io.push_back(context.get());
    // Long polls and event streams wait on the feed, which hears of every snapshot.
    auto leader_feed = le::http::LeaderFeed::create(io.get_executor(), board, clock);
    board.add_observer(le::http::LeaderFeed::board_observer(leader_feed));
    auto routes = le::http::make_election_route_table(board, clock, leader_feed);
    le::http::MetricsSources metrics_sources;
    metrics_sources.lease_name = config.lease_name;
    metrics_sources.version = le::util::kVersion;
    const std::string lease_name = config.lease_name;
    metrics_sources.collectors.emplace_back([election_metrics, lease_name](le::util::MetricsText& out) {
      election_metrics->write(out, lease_name);
    });
    metrics_sources.collectors.emplace_back(
        [api_metrics, lease_name](le::util::MetricsText& out) { api_metrics->write(out, lease_name); });
    metrics_sources.collectors.emplace_back(
        [&event_recorder](le::util::MetricsText& out) { event_recorder.write_metrics(out); });
    if (routing.mode) {
      metrics_sources.collectors.emplace_back(
          [routing_metrics, mode = std::string(routing.mode->mode())](le::util::MetricsText& out) {
            routing_metrics->write(out, mode);
          });
    }
    // A step-down (the admin listener, SIGUSR1, a failing app, run mode's --run-exit release):
    // hidden at once on the board, handed to the loop. In run mode the loop hears of it only once
    // the command has exited, and releases at once then (the command was the app), unless routing
    // needs the step-down delay to take the route away.
    std::function<std::optional<std::uint64_t>(nanoseconds)> step_down;
    std::optional<le::run::RunSupervisor> run_supervisor;
    const nanoseconds step_down_delay =
        config.run && !routing.mode ? nanoseconds::zero() : config.step_down_delay;
    if (config.run) {
      le::run::ChildTiming timing;
      timing.grace = config.run->grace;
      timing.on_exit = config.run->on_exit == le::config::Config::Run::OnExit::release
                           ? le::run::ExitPolicy::release
                           : le::run::ExitPolicy::restart;
      // --run-exit release. The command has exited: if the board no longer shows the term as
      // leading (its renew deadline just passed while renewals fail), the step-down still goes
      // to the loop, which ends the term if its record is still ours, so that it is never
      // renewed again with no command running.
      run_supervisor.emplace(board, clock, timing, config.run->command, [&](std::uint64_t term) {
        if (!step_down(config.step_down_hold_off)) {
          loop.request_step_down(term, {step_down_delay, config.step_down_hold_off});
        }
      });
    }
    step_down = [&](nanoseconds hold_off) -> std::optional<std::uint64_t> {
      if (!run_supervisor) return le::election::step_down(board, clock, loop, {step_down_delay, hold_off});
      const auto term = board.withhold_leadership(clock);
      if (term) {
        run_supervisor->after_child_of(*term, [&loop, term = *term, hold_off, step_down_delay] {
          loop.request_step_down(term, {step_down_delay, hold_off});
        });
      }
      return term;
    };
    // --app-health-url: campaign only while the app answers 2xx; a leader whose app fails steps down
    // (with the step-down hold-off, so that a flapping app does not win leadership straight back).
    std::shared_ptr<le::http::AppHealthProbe> app_health;
    if (config.app_health) {
      const auto& h = *config.app_health;
      elector.set_candidate(false, "the app's health check has not passed yet");
      app_health = le::http::AppHealthProbe::create(
          io.get_executor(),
          {h.host, h.port, h.target, h.url, h.period, h.timeout, h.failure_threshold, h.success_threshold},
          [&](bool healthy, const std::string& why) {
            loop.set_candidate(healthy,
                               healthy ? std::string{} : "the app's health check fails (" + why + ")");
            if (!healthy && step_down(config.step_down_hold_off)) {
              spdlog::warn(
                  "the app is unhealthy: stepped down; releasing the lease after the step-down delay");
            }
          });
      metrics_sources.collectors.emplace_back([app_health, lease_name](le::util::MetricsText& out) {
        app_health->write_metrics(out, lease_name);
      });
    }
    // --notify-url: the /leader answer POSTed to the app on every change, from the same feed as the
    // long polls and streams.
    std::shared_ptr<le::http::WebhookNotifier> notifier;
    if (config.notify) {
      const auto& n = *config.notify;
      le::http::WebhookSettings settings;
      settings.host = n.host;
      settings.port = n.port;
      settings.target = n.target;
      settings.url = n.url;
      settings.timeout = n.timeout;
      notifier = le::http::WebhookNotifier::create(io.get_executor(), leader_feed, settings);
      metrics_sources.collectors.emplace_back(
          [notifier, lease_name](le::util::MetricsText& out) { notifier->write_metrics(out, lease_name); });
    }
    le::http::ServerLimits http_limits;
    const auto file_limit = le::util::raise_open_file_limit();
    if (!file_limit.error.empty()) spdlog::warn("{}", file_limit.error);
    const std::uint64_t files_free =
        file_limit.soft > 2 * kFileReserve ? file_limit.soft - kFileReserve : kFileReserve;
    // With the proxy, the HTTP endpoints get a quarter of the descriptors, the proxy the rest.
    http_limits.max_connections = static_cast<std::size_t>(
        std::min<std::uint64_t>(kMaxHttpConnections, config.proxy ? files_free / 4 : files_free));
    const auto proxy_connections = static_cast<std::size_t>(
        std::min<std::uint64_t>(kMaxProxyConnections, (files_free - http_limits.max_connections) / 2));
    spdlog::info(
        "open-file limit {} (hard {}): serving up to {} HTTP connections at once{}", file_limit.soft,
        file_limit.hard, http_limits.max_connections,
        config.proxy ? ", and " + std::to_string(proxy_connections) + " proxy connections" : std::string{});
    // --route proxy: the Service's traffic to the leader's app, each exchange ended with its term.
    std::shared_ptr<le::proxy::TermGate> proxy_gate;
    std::optional<le::proxy::ProxyServer> proxy_server;
    if (config.proxy) {
      const auto& p = *config.proxy;
      auto proxy_metrics = std::make_shared<le::proxy::ProxyMetrics>();
      proxy_gate = le::proxy::TermGate::create(io.get_executor(), board, clock);
      board.add_observer(le::proxy::TermGate::board_observer(proxy_gate));
      // The release lets the next leader in at once: every exchange of this term ends first.
      // Weakly: the elector outlives io, and the gate's timer must go before io does.
      elector.set_before_release([gate = std::weak_ptr<le::proxy::TermGate>(proxy_gate)] {
        const auto alive = gate.lock();
        return !alive || alive->close_all(kProxyCloseBudget);
      });
      le::proxy::ProxySettings settings;
      settings.tcp = p.mode == le::config::Config::Proxy::Mode::tcp;
      settings.follower = p.follower == le::config::Config::Proxy::Follower::forward
                              ? le::proxy::ProxySettings::Follower::forward
                          : p.follower == le::config::Config::Proxy::Follower::redirect
                              ? le::proxy::ProxySettings::Follower::redirect
                              : le::proxy::ProxySettings::Follower::reject;
      settings.upstream = resolve_listen_address(io, p.upstream_host, p.upstream_port, "--proxy-upstream");
      settings.trusted = le::proxy::TrustedPeers(p.trusted_cidrs);
      settings.connect_timeout = p.connect_timeout;
      settings.idle_timeout = p.idle_timeout;
      settings.max_body = p.max_body;
      settings.max_connections = proxy_connections;
      settings.threads = kHttpThreads;
      // A follower's view of where to send a request: the Lease's holder and the address it published
      // for this very term (kube/ dropped one that names another holder or acquireTime).
      settings.leader = [&board, identity] {
        le::proxy::LeaderLookup lookup;
        const auto snapshot = board.current();
        if (!snapshot->observed || !snapshot->observed->has_holder()) {
          lookup.why_none = "nobody leads at the moment";
          return lookup;
        }
        const auto& record = *snapshot->observed;
        lookup.holder = record.holder_identity;
        if (record.holder_identity == identity) {
          lookup.own = true;
          lookup.why_none = "this replica holds the Lease but does not lead now (" + snapshot->status + ")";
          return lookup;
        }
        if (record.holder_address.empty()) {
          lookup.why_none = "the leader " + record.holder_identity +
                            " published no proxy address (a client-go elector, or lease-elector without "
                            "--route proxy)";
          return lookup;
        }
        lookup.proxy = parse_holder_address(record.holder_address);
        if (!lookup.proxy) {
          lookup.why_none = "the leader " + record.holder_identity + " published the address \"" +
                            record.holder_address + "\", which is not IP:PORT";
          return lookup;
        }
        if (record.acquire_time) lookup.acquire_time = le::util::format_micro_time(*record.acquire_time);
        return lookup;
      };
      proxy_server.emplace(resolve_listen_address(io, p.listen_host, p.listen_port, "--proxy-listen"),
                           std::move(settings), proxy_gate, proxy_metrics);
      if (!config.pod_ip.empty()) {
        // Followers reach this replica's proxy at its Pod's IP and the port the proxy listens on.
        const auto ip = asio::ip::make_address(config.pod_ip);
        const std::string host = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
        // In TCP mode they reach its hop listener instead (ProxyServer::hop_endpoint).
        const auto port = p.mode == le::config::Config::Proxy::Mode::tcp
                              ? proxy_server->hop_endpoint().port()
                              : proxy_server->local_endpoint().port();
        elector.set_holder_address(host + ":" + std::to_string(port));
      }
      metrics_sources.collectors.emplace_back(
          [proxy_metrics, lease_name](le::util::MetricsText& out) { proxy_metrics->write(out, lease_name); });
    }
    le::http::add_metrics_route(*routes, board, clock, std::move(metrics_sources));
    le::http::Server http_server(http_io,
                                 resolve_listen_address(io, config.http_host, config.http_port, "--http"),
                                 std::move(routes), http_limits);
    std::optional<le::http::Server> admin_server;
    if (config.admin_http_host) {
      // In run mode the release comes once the command has exited: tell the most it can take.
      le::http::AdminActions admin_actions{
          step_down, config.step_down_hold_off,
          config.run ? step_down_delay + config.run->grace : step_down_delay};
      const auto admin_endpoint =
          resolve_listen_address(io, *config.admin_http_host, config.admin_http_port, "--admin-http");
      if (!admin_endpoint.address().is_loopback()) {
        spdlog::warn("--admin-http listens on {}, not on loopback: whoever reaches it can move leadership",
                     admin_endpoint.address().to_string());
      }
      admin_server.emplace(io, admin_endpoint,
                           le::http::make_admin_route_table(board, clock, std::move(admin_actions)));
    }
    // SIGUSR1: step down with the default hold-off (kill -USR1, a preStop hook, an operator).
    asio::signal_set step_down_signal(io, SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_step_down_signal =
        [&](const boost::system::error_code& error, int) {
          if (error) return;
          if (step_down(config.step_down_hold_off)) {
            spdlog::info("received SIGUSR1: stepped down; releasing the lease {}",
                         run_supervisor ? "once the command has exited" : "after the step-down delay");
          } else {
            spdlog::info("received SIGUSR1: not leading, nothing to step down from");
          }
          step_down_signal.async_wait(on_step_down_signal);
        };
    step_down_signal.async_wait(on_step_down_signal);
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      const bool was_leading = board.mark_stopping(clock);  // no longer leading, from this instant
      spdlog::info("received {}: {}", signal == SIGTERM ? "SIGTERM" : "SIGINT",
                   !was_leading     ? "stopping"
                   : run_supervisor ? "stepped down; releasing the lease once the command has exited and the "
                                      "release delay has passed"
                                    : "stepped down; releasing the lease after the release delay");
      const auto hand_over = [&] {
        loop.request_stop();
        // Events of the shutdown ("stopped leading") still go out, but no request of theirs runs
        // past the shutdown budget: an unreachable API server must not keep the process longer.
        event_recorder.bound_requests(steady_clock::now() + le::election::timing::kShutdownBudget);
        // One shutdown budget for the whole process: routing removes this Pod's route by the same
        // deadline as the hand-over.
        if (traffic_loop) traffic_loop->request_stop(*loop.shutdown_deadline());
      };
      // In run mode the Lease is kept (and renewed) until the command, told by SIGTERM, has exited.
      if (run_supervisor) {
        run_supervisor->after_stopped(hand_over);
      } else {
        hand_over();
      }
    });
    // Two threads serve HTTP: an app that polls /leader hard, or a probe storm, gets both cores, as a
    // Go net/http server would. Idle, they cost nothing.
    std::vector<std::thread> http_threads;
    http_threads.reserve(kHttpThreads);
    http_threads.emplace_back([&] { io.run(); });
    for (const auto& context : http_only_io) {
      // Without connections it has no work, and run() would return at once.
      http_threads.emplace_back([&context, work = asio::make_work_guard(*context)] { context->run(); });
    }
    // Whatever happens below, stop the HTTP side and the watch, and join their threads before
    // leaving this scope.
    std::thread watch_thread;
    std::thread events_thread([&] { event_recorder.run(); });
    struct JoinOnExit {
      le::http::LeaderFeed& feed;
      le::http::Server& server;
      std::optional<le::http::Server>& admin_server;
      asio::signal_set& step_down_signal;
      std::shared_ptr<le::http::AppHealthProbe>& app_health;
      std::shared_ptr<le::http::WebhookNotifier>& notifier;
      asio::io_context& io;
      std::vector<std::unique_ptr<asio::io_context>>& http_only_io;
      std::vector<std::thread>& threads;
      le::kube::LeaseWatcher& watcher;
      std::thread& watch_thread;
      le::kube::EventRecorder& events;
      std::thread& events_thread;
      std::optional<le::run::RunSupervisor>& run_supervisor;
      ~JoinOnExit() {
        // Normally the command is gone already; after an error it is killed here.
        if (run_supervisor) run_supervisor->stop();
        // Events still queued (the "stopped leading" of a shutdown) get a moment, never more,
        // while the watch and the HTTP side wind down.
        events.stop(steady_clock::now() + kEventFlushBudget);
        watcher.stop();
        feed.stop();
        server.stop();
        if (admin_server) admin_server->stop();
        if (app_health) app_health->stop();
        if (notifier) notifier->stop();
        boost::system::error_code ignored;
        step_down_signal.cancel(ignored);
        io.stop();
        for (const auto& context : http_only_io) context->stop();
        for (auto& thread : threads) {
          if (thread.joinable()) thread.join();
        }
        if (watch_thread.joinable()) watch_thread.join();
        if (events_thread.joinable()) events_thread.join();
      }
    } join_on_exit{*leader_feed,  http_server,   admin_server, step_down_signal,
                   app_health,    notifier,      io,           http_only_io,
                   http_threads,  watcher,       watch_thread, event_recorder,
                   events_thread, run_supervisor};
    // Stopped before everything above (declared after it): no exchange outlives the election.
    struct StopProxy {
      std::shared_ptr<le::proxy::TermGate>& gate;
      std::optional<le::proxy::ProxyServer>& server;
      ~StopProxy() {
        if (gate) gate->stop();
        if (server) server->stop();
      }
    } stop_proxy{proxy_gate, proxy_server};
    if (config.takeover == le::config::Takeover::watch) watch_thread = std::thread([&] { watcher.run(); });

    const auto endpoint = http_server.local_endpoint();
    spdlog::info(
        "{} starting: lease {}, identity {}, API server {} ({}), serving http on {}:{}{}; "
        "lease duration {}s, renew deadline {}ms, retry period {}ms, release delay {}ms; takeover by {}; "
        "route {}",
        le::config::version_text(), lease, identity, server_url, source, endpoint.address().to_string(),
        endpoint.port(),
        admin_server ? ", admin on " + admin_server->local_endpoint().address().to_string() + ":" +
                           std::to_string(admin_server->local_endpoint().port())
                     : std::string{},
        config.lease_duration.count(), duration_cast<milliseconds>(config.renew_deadline).count(),
        duration_cast<milliseconds>(config.retry_period).count(),
        duration_cast<milliseconds>(config.release_delay).count(),
        config.takeover == le::config::Takeover::watch ? "watch" : "poll",
        le::config::to_string(config.route));

    if (traffic_loop) traffic_loop->start();
    if (proxy_server) {
      const auto& p = *config.proxy;
      const auto at = proxy_server->local_endpoint();
      spdlog::info(
          "proxy on {}:{} ({} mode): to the app at {}:{} while this replica leads; a follower {}",
          at.address().to_string(), at.port(),
          p.mode == le::config::Config::Proxy::Mode::tcp ? "tcp" : "http", p.upstream_host, p.upstream_port,
          p.follower == le::config::Config::Proxy::Follower::forward    ? "forwards to the leader's proxy"
          : p.follower == le::config::Config::Proxy::Follower::redirect ? "redirects (307) to the leader"
                                                                        : "answers 503");
      proxy_server->start();
    }
    if (app_health) {
      spdlog::info("campaigning only while GET {} answers 2xx (every {}ms, timeout {}ms)",
                   config.app_health->url, duration_cast<milliseconds>(config.app_health->period).count(),
                   duration_cast<milliseconds>(config.app_health->timeout).count());
      app_health->start();
    }
    if (notifier) {
      spdlog::info("POSTing every change of the /leader answer to {} (timeout {}ms)", config.notify->url,
                   duration_cast<milliseconds>(config.notify->timeout).count());
      notifier->start();
    }
    if (run_supervisor) {
      spdlog::info("run mode: {} runs only while this replica leads (grace {}ms, on exit: {})",
                   config.run->command.front(), duration_cast<milliseconds>(config.run->grace).count(),
                   config.run->on_exit == le::config::Config::Run::OnExit::release ? "release" : "restart");
      run_supervisor->start();
    }
    loop.run();  // returns after SIGTERM/SIGINT and the hand-over
    // The controller saw the stop in the snapshot at once (mark_stopping) and has been removing this
    // Pod's route since, its requests bounded by the election's deadline: waiting for it here
    // adds nothing to the shutdown budget. The hand-over can be over (no release delay) before the
    // signal handler has passed that deadline on, so pass it here too (the first call counts):
    // stop() alone would end the traffic loop at once.
    if (traffic_loop) {
      traffic_loop->request_stop(*loop.shutdown_deadline());
      traffic_loop->stop();
    }
    spdlog::info("stopped");
    return 0;
  } catch (const std::exception& error) {
    spdlog::critical("{}", error.what());
    return kExitRuntimeFailure;
  }
}
