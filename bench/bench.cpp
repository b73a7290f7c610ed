// lease-elector's benchmark suite: every figure is measured for lease-elector (watch) and for its
// baseline (client-go v0.20's polling, `--takeover poll`, or a Go net/http server) in the same run
// on the same machine, and printed with the ratio. See bench/README.md.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <atomic>

#include "bench_support.h"
#include "event_stream_client.h"
#include "http_client.h"
#include "leadership_terms.h"
#include "local_cluster.h"
#include "proxy_bench.h"

using namespace std::chrono;
using le::bench::fixed;
using le::bench::ms;
using le::bench::percentile;
using le::bench::usage_of;
using le::testing::ChildProcess;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
namespace fs = std::filesystem;

namespace {

struct Settings {
  std::string bin_dir;
  std::string sidecar;    // the lease-elector binary to measure; default: bin_dir/lease-elector
  std::string go_server;  // path to the built Go baseline; empty: skip the throughput comparison
  le::bench::ProxyBenchSettings proxy;  // --only proxy; its upstream app's path empty: skipped
  int handovers = 50;
  int crashes = 10;
  seconds request_window{60};
  seconds idle_window{60};
  int startups = 10;
  int scale_replicas = 50;
  int scale_handovers = 5;
  int scrapes = 2000;
  int push_handovers = 30;
  int idle_streams = 1000;
  seconds scrape_window{30};
  std::set<std::string> only;  // empty: everything
};

bool wanted(const Settings& s, const std::string& name) { return s.only.empty() || s.only.count(name) > 0; }

// The table printed at the end, and copied into bench/README.md.
struct Row {
  std::string figure, lease_elector, baseline, ratio, target;
};
std::vector<Row> table;

void report(const std::string& figure, const std::string& ours, const std::string& baseline,
            const std::string& ratio, const std::string& target) {
  table.push_back({figure, ours, baseline, ratio, target});
  std::cout << "  " << figure << ": lease-elector " << ours << ", baseline " << baseline << " (" << ratio
            << ")\n"
            << std::flush;
}

ClusterOptions default_timings(const Settings& s, const std::string& takeover) {
  ClusterOptions o;
  o.apiserver_binary = s.bin_dir + "/fake-apiserver";
  o.sidecar_binary = s.sidecar;
  o.lease_name = "bench";
  o.lease_duration = "15s";
  o.renew_deadline = "10s";
  o.retry_period = "2s";
  o.release_delay = "0s";
  o.extra_sidecar_flags = {"--takeover", takeover, "--log-level", "info"};
  return o;
}

// Polls the replicas' /leader back to back until one of them (other than `except`) leads.
std::optional<std::pair<std::size_t, nanoseconds>> first_leader(LocalCluster& cluster,
                                                                steady_clock::time_point since,
                                                                std::optional<std::size_t> except,
                                                                seconds timeout) {
  while (steady_clock::now() - since < timeout) {
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      if (except && i == *except) continue;
      if (cluster.leader_view(i).is_leader) return std::pair{i, steady_clock::now() - since};
    }
  }
  return std::nullopt;
}

std::size_t elect(LocalCluster& cluster, std::size_t replicas) {
  // Released, so the start-up figure is the sidecar's own: a Lease created empty (the Helm chart)
  // adds one lease duration, by design (README, Safety).
  cluster.create_lease(LocalCluster::released_lease_spec());
  for (std::size_t i = 0; i < replicas; ++i) cluster.start_sidecar(i);
  auto leader = first_leader(cluster, steady_clock::now(), std::nullopt, seconds{120});
  if (!leader) throw std::runtime_error("no leader was elected");
  return leader->first;
}

// Signal the leader, time until another replica reports isLeader=true, restart the old one.
std::vector<double> handovers(const Settings& s, const std::string& takeover, int signal, int count,
                              std::size_t replicas) {
  LocalCluster cluster(default_timings(s, takeover));
  std::size_t leader = elect(cluster, replicas);
  std::vector<double> samples;
  for (int round = 0; round < count; ++round) {
    // Let the restarted replica start and its watch connect; then wait a random part of a
    // renewal period so the signal lands anywhere in the leader's and followers' cycles.
    std::this_thread::sleep_for(milliseconds{1000 + (std::rand() % 2000)});
    const auto since = steady_clock::now();
    cluster.sidecar(leader).signal(signal);
    auto next = first_leader(cluster, since, leader, seconds{60});
    if (!next) throw std::runtime_error("no new leader within 60 s");
    samples.push_back(ms(next->second));
    cluster.sidecar(leader).wait_for(seconds{30});
    cluster.start_sidecar(leader);
    leader = next->first;
    std::cout << "." << std::flush;
  }
  std::cout << "\n";
  if (cluster.split_brain_sweeps() != 0) std::cout << "  WARNING: split brain observed\n";
  return samples;
}

void bench_handover(const Settings& s, const std::string& name, int signal, int count,
                    const std::string& target) {
  std::cout << name << " (" << count << " each, default timings 15s/10s/2s, release delay 0, 3 replicas)\n";
  const auto watch = handovers(s, "watch", signal, count, 3);
  const auto poll = handovers(s, "poll", signal, count, 3);
  for (const double p : {50.0, 99.0}) {
    const double ours = percentile(watch, p);
    const double theirs = percentile(poll, p);
    report(name + " p" + fixed(p, 0), fixed(ours) + " ms", fixed(theirs) + " ms",
           fixed(theirs / std::max(ours, 0.001)) + "x faster", p == 99.0 ? target : "");
  }
}

// Requests per minute per replica at default timings, counted by the local API server.
struct Costs {
  double leader = 0, follower_max = 0, follower_watch_max = 0;
};

Costs request_costs(const Settings& s, const std::string& takeover) {
  auto o = default_timings(s, takeover);
  o.user_per_replica = true;
  LocalCluster cluster(o);
  const std::size_t leader = elect(cluster, 3);
  std::this_thread::sleep_for(seconds{5});
  cluster.reset_stats();
  std::this_thread::sleep_for(s.request_window);
  const auto stats = cluster.stats()["byUserAndVerb"];
  const double minutes = duration<double>(s.request_window).count() / 60.0;
  Costs costs;
  for (std::size_t i = 0; i < 3; ++i) {
    double total = 0, watches = 0;
    for (const auto& [key, value] : stats.items()) {
      if (key.rfind(cluster.identity(i) + " ", 0) != 0) continue;
      total += value.get<double>();
      if (key.find(" watch ") != std::string::npos) watches += value.get<double>();
    }
    if (i == leader) {
      costs.leader = total / minutes;
    } else {
      costs.follower_max = std::max(costs.follower_max, (total - watches) / minutes);
      costs.follower_watch_max = std::max(costs.follower_watch_max, watches / minutes);
    }
  }
  return costs;
}

void bench_requests(const Settings& s) {
  std::cout << "API requests per minute per replica (" << s.request_window.count()
            << " s, default timings, 3 replicas)\n";
  const auto watch = request_costs(s, "watch");
  const auto poll = request_costs(s, "poll");
  report("leader requests/min", fixed(watch.leader), fixed(poll.leader),
         fixed(poll.leader / std::max(watch.leader, 0.01)) + "x fewer", "<= 30");
  report("follower requests/min besides its watch", fixed(watch.follower_max), fixed(poll.follower_max),
         watch.follower_max < 0.01 ? "none vs " + fixed(poll.follower_max)
                                   : fixed(poll.follower_max / watch.follower_max) + "x fewer",
         "<= 1");
  std::cout << "  (a follower's watch requests: " << fixed(watch.follower_watch_max) << "/min)\n";
}

// Every answer must be a 200: a server that answered errors quickly would look fast.
le::bench::WrkResult checked_wrk(const std::string& url) {
  auto result = le::bench::run_wrk(url);
  if (result.non_2xx > 0) throw std::runtime_error("wrk saw errors: " + result.output);
  return result;
}

void bench_throughput(const Settings& s) {
  if (s.go_server.empty()) {
    std::cout << "/leader throughput: skipped (no Go baseline built)\n";
    return;
  }
  std::cout << "/leader throughput (wrk -t2 -c50 -d10s, keep-alive)\n";
  LocalCluster cluster(default_timings(s, "watch"));
  const std::size_t leader = elect(cluster, 1);
  const int go_port = le::testing::free_loopback_port();
  ChildProcess go({s.go_server, "--listen", "127.0.0.1:" + std::to_string(go_port)},
                  cluster.work_dir() + "/go-server.log");
  std::this_thread::sleep_for(milliseconds{500});
  const auto ours = checked_wrk("http://127.0.0.1:" + std::to_string(cluster.http_port(leader)) + "/leader");
  const auto theirs = checked_wrk("http://127.0.0.1:" + std::to_string(go_port) + "/leader");
  report("/leader requests/s", fixed(ours.requests_per_second, 0), fixed(theirs.requests_per_second, 0),
         fixed(ours.requests_per_second / std::max(theirs.requests_per_second, 1.0), 2) + "x",
         ">= Go server");
  report("/leader p99 latency", fixed(ours.p99_ms, 2) + " ms", fixed(theirs.p99_ms, 2) + " ms",
         fixed(theirs.p99_ms / std::max(ours.p99_ms, 0.001), 2) + "x", "");
}

// The pushed /leader: from the start of a new term (the sidecar's leadership log, boot clock) to the
// moment the app in the same Pod has the answer, by long poll and by stream, against an app that
// polls /leader every 50 ms (the baseline). Then what 1,000 open streams cost a leader.
void bench_push(const Settings& s) {
  std::cout << "Push (" << s.push_handovers << " SIGTERM handovers, default timings, 2 replicas)\n";
  auto options = default_timings(s, "watch");
  options.extra_sidecar_flags = {"--takeover", "watch", "--log-level", "debug"};  // the leadership log
  LocalCluster cluster(options);
  std::size_t leader = elect(cluster, 2);
  std::vector<double> by_poll, by_stream, by_baseline;
  for (int round = 0; round < s.push_handovers; ++round) {
    const std::size_t follower = 1 - leader;
    std::this_thread::sleep_for(milliseconds{1000 + (std::rand() % 1000)});
    const int port = cluster.http_port(follower);
    nlohmann::json seen;
    for (const auto until = steady_clock::now() + seconds{10}; steady_clock::now() < until;) {
      seen = cluster.leader_view(follower).body;
      if (seen.value("name", "") == cluster.identity(leader)) break;
      std::this_thread::sleep_for(milliseconds{10});
    }
    if (seen.value("name", "") != cluster.identity(leader))
      throw std::runtime_error("the follower never saw the leader");
    le::testing::EventStreamClient stream(port);
    if (!stream.next_event(milliseconds{5000})) throw std::runtime_error("no first stream event");
    // The app's long poll loop, until an answer says it leads.
    auto poll =
        std::async(std::launch::async, [port, index = seen.at("index").get<std::uint64_t>()]() mutable {
          le::testing::HttpClient http;
          while (true) {
            const auto answer = http.get("http://127.0.0.1:" + std::to_string(port) +
                                             "/leader?index=" + std::to_string(index) + "&wait=60s",
                                         milliseconds{70000});
            const auto received = le::testing::boot_now_ns();
            if (answer.status != 200) return std::int64_t{0};
            const auto body = nlohmann::json::parse(answer.body);
            if (body.value("isLeader", false)) return received;
            index = body.at("index").get<std::uint64_t>();
          }
        });
    std::int64_t polled_at = 0;
    std::thread poller([&] {
      le::testing::HttpClient http;
      for (const auto until = steady_clock::now() + seconds{20}; steady_clock::now() < until;) {
        const auto answer =
            http.get("http://127.0.0.1:" + std::to_string(port) + "/leader", milliseconds{1000});
        if (answer.status == 200 && nlohmann::json::parse(answer.body).value("isLeader", false)) {
          polled_at = le::testing::boot_now_ns();
          return;
        }
        std::this_thread::sleep_for(milliseconds{50});
      }
    });
    const auto signalled = le::testing::boot_now_ns();
    cluster.sidecar(leader).signal(SIGTERM);
    const auto streamed = stream.next_event(
        milliseconds{20000}, [](const nlohmann::json& body) { return body.value("isLeader", false); });
    const bool polled = poll.wait_for(seconds{20}) == std::future_status::ready;
    const auto long_polled_at = polled ? poll.get() : 0;
    poller.join();
    if (!streamed || long_polled_at == 0 || polled_at == 0) {
      throw std::runtime_error(std::string{"the app was never told by"} + (streamed ? "" : " the stream") +
                               (long_polled_at == 0 ? " the long poll" : "") +
                               (polled_at == 0 ? " polling" : ""));
    }
    const auto term = le::testing::first_term_after(cluster.leadership_terms(), signalled, leader);
    if (!term) throw std::runtime_error("no new term in the leadership log");
    by_stream.push_back(ms(nanoseconds{streamed->received_boot_ns - term->start_boot_ns}));
    by_poll.push_back(ms(nanoseconds{long_polled_at - term->start_boot_ns}));
    by_baseline.push_back(ms(nanoseconds{polled_at - term->start_boot_ns}));
    cluster.sidecar(leader).wait_for(seconds{30});
    cluster.start_sidecar(leader);
    leader = follower;
    std::cout << "." << std::flush;
  }
  std::cout << "\n";
  for (const double p : {50.0, 99.0}) {
    const double baseline = percentile(by_baseline, p);
    for (const auto& [name, samples] : {std::pair{"long poll", &by_poll}, std::pair{"stream", &by_stream}}) {
      const double ours = percentile(*samples, p);
      report(std::string{"push: term start to app, "} + name + " p" + fixed(p, 0), fixed(ours, 2) + " ms",
             fixed(baseline, 2) + " ms (polling every 50 ms)",
             fixed(baseline / std::max(ours, 0.001), 0) + "x faster", p == 99.0 ? "< 10 ms" : "");
    }
  }

  // 1,000 open streams on the leader: its memory, its CPU, and /leader's latency beside them.
  const pid_t pid = cluster.sidecar(leader).pid();
  const std::string url = "http://127.0.0.1:" + std::to_string(cluster.http_port(leader)) + "/leader";
  const auto leader_latency = [&url] {
    le::testing::HttpClient http;
    std::vector<double> samples;
    for (int i = 0; i < 500; ++i) {
      const auto start = steady_clock::now();
      if (http.get(url).status != 200) throw std::runtime_error("/leader failed");
      samples.push_back(ms(steady_clock::now() - start));
    }
    return samples;
  };
  const seconds window{30};
  const auto quiet = leader_latency();
  const auto before = usage_of(pid);
  std::this_thread::sleep_for(window);
  const auto before_window = usage_of(pid);
  std::vector<std::unique_ptr<le::testing::EventStreamClient>> streams;
  for (int i = 0; i < s.idle_streams; ++i) {
    streams.push_back(std::make_unique<le::testing::EventStreamClient>(cluster.http_port(leader)));
    if (!streams.back()->next_event(milliseconds{5000})) throw std::runtime_error("a stream did not start");
  }
  std::this_thread::sleep_for(seconds{2});
  const auto opened = usage_of(pid);
  std::this_thread::sleep_for(window);
  const auto after_window = usage_of(pid);
  const auto busy = leader_latency();
  const double w = duration<double>(window).count();
  report("leader RSS, 0 / " + std::to_string(s.idle_streams) + " open streams",
         fixed(before.rss_mib, 2) + " MiB", fixed(opened.rss_mib, 2) + " MiB",
         "+" + fixed(opened.rss_mib - before.rss_mib, 2) + " MiB", "");
  report("leader CPU, 0 / " + std::to_string(s.idle_streams) + " open streams",
         fixed(100.0 * (before_window.cpu_seconds - before.cpu_seconds) / w, 3) + " %",
         fixed(100.0 * (after_window.cpu_seconds - opened.cpu_seconds) / w, 3) + " %", "-", "");
  report("/leader p50 / p99 beside " + std::to_string(s.idle_streams) + " streams",
         fixed(percentile(busy, 50), 3) + " / " + fixed(percentile(busy, 99), 3) + " ms",
         fixed(percentile(quiet, 50), 3) + " / " + fixed(percentile(quiet, 99), 3) + " ms (none)", "-", "");
}

void bench_idle(const Settings& s) {
  std::cout << "Idle footprint over " << s.idle_window.count() << " s (default timings, 2 replicas)\n";
  LocalCluster cluster(default_timings(s, "watch"));
  const std::size_t leader = elect(cluster, 2);
  const std::size_t follower = 1 - leader;
  std::this_thread::sleep_for(seconds{3});
  const auto leader_before = usage_of(cluster.sidecar(leader).pid());
  const auto follower_before = usage_of(cluster.sidecar(follower).pid());
  std::this_thread::sleep_for(s.idle_window);
  const auto leader_after = usage_of(cluster.sidecar(leader).pid());
  const auto follower_after = usage_of(cluster.sidecar(follower).pid());
  const double window = duration<double>(s.idle_window).count();
  report("idle RSS, leader", fixed(leader_after.rss_mib) + " MiB", "-", "-", "< 8 MiB");
  report("idle RSS, follower", fixed(follower_after.rss_mib) + " MiB", "-", "-", "< 8 MiB");
  report("idle CPU, leader",
         fixed(100.0 * (leader_after.cpu_seconds - leader_before.cpu_seconds) / window, 3) + " %", "-", "-",
         "~0");
  report("idle CPU, follower",
         fixed(100.0 * (follower_after.cpu_seconds - follower_before.cpu_seconds) / window, 3) + " %", "-",
         "-", "~0");
  const auto size = fs::file_size(s.sidecar);
  report("binary size (" + s.sidecar + ")", fixed(size / 1048576.0) + " MiB", "-", "-", "");
}

// Deviations of the leader's renewals from its retry period over `window`, read from the Lease's
// renewTime (the leader's send time of each renewal, on its wall clock), in ms.
std::vector<double> renewal_deviations(LocalCluster& cluster, seconds window, milliseconds retry_period) {
  std::vector<std::string> renew_times;
  const auto until = steady_clock::now() + window;
  while (steady_clock::now() < until) {
    const auto lease = cluster.read_lease();
    const std::string renewed = lease["spec"].value("renewTime", "");
    if (!renewed.empty() && (renew_times.empty() || renew_times.back() != renewed))
      renew_times.push_back(renewed);
    std::this_thread::sleep_for(milliseconds{20});
  }
  // "2026-12-03T22:00:00.123456Z": seconds of the day are enough for intervals of seconds.
  const auto seconds_of = [](const std::string& t) {
    return std::stod(t.substr(11, 2)) * 3600 + std::stod(t.substr(14, 2)) * 60 + std::stod(t.substr(17, 9));
  };
  std::vector<double> deviations;
  for (std::size_t i = 1; i < renew_times.size(); ++i) {
    const double interval = seconds_of(renew_times[i]) - seconds_of(renew_times[i - 1]);
    deviations.push_back(std::abs(interval * 1000 - retry_period.count()));
  }
  return deviations;
}

// What a scrape costs: its latency against /leader's on the same listener, and whether 10 scrapes a
// second move the leader's renewals (against the same leader unscraped).
void bench_metrics(const Settings& s) {
  std::cout << "Metrics: " << s.scrapes << " scrapes of the leader; renewals over " << s.scrape_window.count()
            << " s unscraped, then scraped 10 times a second\n";
  LocalCluster cluster(default_timings(s, "watch"));
  const std::size_t leader = elect(cluster, 2);
  const std::string base = "http://127.0.0.1:" + std::to_string(cluster.http_port(leader));
  le::testing::HttpClient http;
  const auto latencies = [&](const std::string& path) {
    std::vector<double> samples;
    for (int i = 0; i < s.scrapes; ++i) {
      const auto start = steady_clock::now();
      const auto answer = http.get(base + path);
      if (answer.status != 200) throw std::runtime_error(path + ": " + std::to_string(answer.status));
      samples.push_back(ms(steady_clock::now() - start));
    }
    return samples;
  };
  const auto scrape = latencies("/metrics");
  const auto leader_answers = latencies("/leader");
  report("scrape latency p50 (/leader as baseline)", fixed(percentile(scrape, 50), 3) + " ms",
         fixed(percentile(leader_answers, 50), 3) + " ms",
         fixed(percentile(scrape, 50) / percentile(leader_answers, 50), 2) + "x", "< 1 ms");
  report("scrape latency p99 (/leader as baseline)", fixed(percentile(scrape, 99), 3) + " ms",
         fixed(percentile(leader_answers, 99), 3) + " ms",
         fixed(percentile(scrape, 99) / percentile(leader_answers, 99), 2) + "x", "< 5 ms");

  const milliseconds retry{2000};
  const auto quiet = renewal_deviations(cluster, s.scrape_window, retry);
  std::atomic<bool> scraping{true};
  std::thread scraper([&] {
    le::testing::HttpClient client;
    while (scraping) {
      client.get(base + "/metrics");
      std::this_thread::sleep_for(milliseconds{100});
    }
  });
  const auto scraped = renewal_deviations(cluster, s.scrape_window, retry);
  scraping = false;
  scraper.join();
  if (quiet.empty() || scraped.empty()) throw std::runtime_error("no renewals observed");
  report("renewal deviation from the retry period, max (unscraped as baseline)",
         fixed(*std::max_element(scraped.begin(), scraped.end()), 1) + " ms (" +
             std::to_string(scraped.size()) + " renewals, 10 scrapes/s)",
         fixed(*std::max_element(quiet.begin(), quiet.end()), 1) + " ms (" + std::to_string(quiet.size()) +
             " renewals)",
         "-", "no change");
}

void bench_startup(const Settings& s) {
  std::cout << "Start-up: process start to isLeader=true on a free Lease (" << s.startups << " runs)\n";
  LocalCluster cluster(default_timings(s, "watch"));
  cluster.create_lease(LocalCluster::released_lease_spec());
  std::vector<double> samples;
  for (int run = 0; run < s.startups; ++run) {
    const auto since = steady_clock::now();
    cluster.start_sidecar(0);
    auto led = first_leader(cluster, since, std::nullopt, seconds{30});
    if (!led) throw std::runtime_error("the sidecar did not lead within 30 s");
    samples.push_back(ms(led->second));
    cluster.sidecar(0).signal(SIGTERM);  // releases: the Lease is free for the next run
    cluster.sidecar(0).wait_for(seconds{30});
  }
  report("start-up to leading p50", fixed(percentile(samples, 50)) + " ms", "-", "-", "< 100 ms");
  report("start-up to leading max", fixed(percentile(samples, 100)) + " ms", "-", "-", "");
}

struct ScaleResult {
  std::vector<double> handovers;
  double requests_per_minute = 0;
};

ScaleResult scale_run(const Settings& s, const std::string& takeover) {
  LocalCluster cluster(default_timings(s, takeover));
  const auto replicas = static_cast<std::size_t>(s.scale_replicas);
  std::size_t leader = elect(cluster, replicas);
  std::this_thread::sleep_for(seconds{5});
  cluster.reset_stats();
  const seconds window{30};
  std::this_thread::sleep_for(window);
  ScaleResult result;
  const auto stats = cluster.stats();
  result.requests_per_minute = stats["total"].get<double>() * 60.0 / window.count();
  for (int round = 0; round < s.scale_handovers; ++round) {
    std::this_thread::sleep_for(milliseconds{1000 + (std::rand() % 2000)});
    const auto since = steady_clock::now();
    cluster.sidecar(leader).signal(SIGTERM);
    auto next = first_leader(cluster, since, leader, seconds{60});
    if (!next) throw std::runtime_error("no new leader within 60 s");
    result.handovers.push_back(ms(next->second));
    cluster.sidecar(leader).wait_for(seconds{30});
    cluster.start_sidecar(leader);
    leader = next->first;
  }
  return result;
}

void bench_scale(const Settings& s) {
  std::cout << "Scale: " << s.scale_replicas << " sidecars on one Lease (default timings)\n";
  const auto watch = scale_run(s, "watch");
  const auto poll = scale_run(s, "poll");
  report("scale: API requests/min, all replicas", fixed(watch.requests_per_minute),
         fixed(poll.requests_per_minute),
         fixed(poll.requests_per_minute / std::max(watch.requests_per_minute, 0.01)) + "x fewer", "");
  const double ours = percentile(watch.handovers, 50);
  const double theirs = percentile(poll.handovers, 50);
  report("scale: SIGTERM handover p50", fixed(ours) + " ms", fixed(theirs) + " ms",
         fixed(theirs / std::max(ours, 0.001)) + "x faster", "");
}

int usage() {
  std::cerr
      << "usage: lease-elector-bench --bin-dir DIR [--sidecar PATH] [--go-server PATH] [--handovers N]\n"
         "         [--crashes N] [--request-window SECONDS] [--idle-window SECONDS] [--startups N]\n         "
         "[--scale N] [--scrapes N] [--scrape-window SECONDS]\n"
         "         [--proxy-upstream PATH] [--proxy-duration SECONDS] [--websockets N]\n"
         "         [--only handover,crash,requests,throughput,idle,startup,scale,metrics,push,proxy]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (flag == "--bin-dir")
      s.bin_dir = value;
    else if (flag == "--sidecar")
      s.sidecar = value;
    else if (flag == "--go-server")
      s.go_server = value;
    else if (flag == "--proxy-upstream")
      s.proxy.upstream = value;
    else if (flag == "--proxy-duration")
      s.proxy.wrk_duration = seconds{std::stoi(value)};
    else if (flag == "--websockets")
      s.proxy.websockets = std::stoi(value);
    else if (flag == "--handovers")
      s.handovers = std::stoi(value);
    else if (flag == "--crashes")
      s.crashes = std::stoi(value);
    else if (flag == "--request-window")
      s.request_window = seconds{std::stoi(value)};
    else if (flag == "--idle-window")
      s.idle_window = seconds{std::stoi(value)};
    else if (flag == "--startups")
      s.startups = std::stoi(value);
    else if (flag == "--scale")
      s.scale_replicas = std::stoi(value);
    else if (flag == "--scrapes")
      s.scrapes = std::stoi(value);
    else if (flag == "--scrape-window")
      s.scrape_window = seconds{std::stoi(value)};
    else if (flag == "--only") {
      std::stringstream list(value);
      for (std::string name; std::getline(list, name, ',');) s.only.insert(name);
    } else {
      return usage();
    }
  }
  if (s.bin_dir.empty()) return usage();
  if (s.sidecar.empty()) s.sidecar = s.bin_dir + "/lease-elector";
  std::srand(static_cast<unsigned>(::getpid()));
  // The push benchmark holds 1,000 streams open: one descriptor each.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  try {
    if (wanted(s, "handover")) bench_handover(s, "SIGTERM handover", SIGTERM, s.handovers, "< 20 ms");
    if (wanted(s, "crash")) bench_handover(s, "SIGKILL failover", SIGKILL, s.crashes, "~ lease duration");
    if (wanted(s, "requests")) bench_requests(s);
    if (wanted(s, "throughput")) bench_throughput(s);
    if (wanted(s, "idle")) bench_idle(s);
    if (wanted(s, "startup")) bench_startup(s);
    if (wanted(s, "scale")) bench_scale(s);
    if (wanted(s, "metrics")) bench_metrics(s);
    if (wanted(s, "push")) bench_push(s);
    if (wanted(s, "proxy")) {
      s.proxy.apiserver = s.bin_dir + "/fake-apiserver";
      s.proxy.sidecar = s.sidecar;
      le::bench::bench_proxy(s.proxy, report);
    }
  } catch (const std::exception& error) {
    std::cerr << "bench failed: " << error.what() << "\n";
    return 1;
  }
  std::cout << "\n| figure | lease-elector | baseline | ratio | target |\n|---|---|---|---|---|\n";
  for (const auto& row : table) {
    std::cout << "| " << row.figure << " | " << row.lease_elector << " | " << row.baseline << " | "
              << row.ratio << " | " << row.target << " |\n";
  }
  return 0;
}
