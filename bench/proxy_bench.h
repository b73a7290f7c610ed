#pragma once
// The proxy benchmark (`--only proxy`): lease-elector's proxy on the leader and through a follower,
// against nginx and HAProxy as plain reverse proxies and the app directly, all in front of the same
// Go app on loopback. See bench/README.md, "Proxy".
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace le::bench {

struct ProxyBenchSettings {
  std::string apiserver;  // the local API server (fake-apiserver)
  std::string sidecar;    // the lease-elector binary measured
  std::string upstream;   // bench/proxy-upstream, built by bench/run
  std::chrono::seconds wrk_duration{10};
  std::uint64_t transfer_bytes = 100ull * 1024 * 1024;
  int websockets = 1000;
};

// One row of the suite's summary table (bench.cpp's report()).
using Report =
    std::function<void(const std::string& figure, const std::string& lease_elector,
                       const std::string& baseline, const std::string& ratio, const std::string& target)>;

void bench_proxy(const ProxyBenchSettings& settings, const Report& report);

}  // namespace le::bench
