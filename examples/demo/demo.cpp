// The demo: the local API server and three sidecars on this machine, no cluster needed. Shows who
// leads (each replica's /leader), then stops the leader gracefully (SIGTERM) and by force (SIGKILL)
// and measures how long each handover took, from the signal until another replica said
// isLeader=true.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "local_cluster.h"

using namespace std::chrono;
using le::testing::ClusterOptions;
using le::testing::LocalCluster;
namespace fs = std::filesystem;

namespace {

fs::path own_directory() { return fs::canonical("/proc/self/exe").parent_path(); }

void show_replicas(LocalCluster& cluster) {
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    auto view = cluster.leader_view(i);
    std::printf("  %-10s GET /leader -> %s\n", cluster.identity(i).c_str(),
                view.answered ? view.body.dump().c_str() : "(no answer)");
  }
}

double ms(nanoseconds d) { return duration<double, std::milli>(d).count(); }

// Resident memory of a process, from /proc/PID/status (VmRSS, in kB).
long resident_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void show_footprint(LocalCluster& cluster, const std::string& binary) {
  // The build keeps debug information; what a container would ship is the stripped binary.
  const std::string stripped = cluster.work_dir() + "/lease-elector.stripped";
  const auto strip = le::testing::run_command({"/usr/bin/strip", "-o", stripped, binary}, seconds{30});
  std::printf("\nFootprint: %s is %.1f MB as built (%s)", binary.c_str(), double(fs::file_size(binary)) / 1e6,
              LEASE_ELECTOR_BUILD_TYPE);
  if (strip.status == 0) std::printf(", %.1f MB stripped", double(fs::file_size(stripped)) / 1e6);
  std::printf("\n");
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    std::printf("  %-10s resident memory %.1f MB\n", cluster.identity(i).c_str(),
                double(resident_kb(cluster.sidecar(i).pid())) / 1024.0);
  }
}

int usage() {
  std::cerr
      << "usage: lease-elector-demo [--lease-duration 4s] [--renew-deadline 2s] [--retry-period 500ms]\n"
         "                          [--release-delay 1s] [--rounds 1]\n"
         "Starts the local Lease API server and three lease-elector sidecars, then hands\n"
         "leadership over by SIGTERM and by SIGKILL and prints how long each handover took.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ClusterOptions options;
  options.apiserver_binary = (own_directory() / "fake-apiserver").string();
  options.sidecar_binary = (own_directory() / "lease-elector").string();
  options.lease_duration = "4s";
  options.renew_deadline = "2s";
  options.retry_period = "500ms";
  options.release_delay = "1s";
  int rounds = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return usage(), 0;
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (flag == "--lease-duration")
      options.lease_duration = value;
    else if (flag == "--renew-deadline")
      options.renew_deadline = value;
    else if (flag == "--retry-period")
      options.retry_period = value;
    else if (flag == "--release-delay")
      options.release_delay = value;
    else if (flag == "--rounds")
      rounds = std::stoi(value);
    else
      return usage();
  }

  try {
    std::printf("Starting the local Lease API server (HTTPS, generated CA, bearer token)...\n");
    LocalCluster cluster(options);
    std::printf("  API server %s, kubeconfig %s\n\n", cluster.api_url().c_str(),
                cluster.kubeconfig().c_str());
    std::printf(
        "Starting 3 sidecars: lease-elector --lease-name %s --kubeconfig ... --lease-duration %s "
        "--renew-deadline %s --retry-period %s --release-delay %s\n",
        options.lease_name.c_str(), options.lease_duration.c_str(), options.renew_deadline.c_str(),
        options.retry_period.c_str(), options.release_delay.c_str());
    for (std::size_t i = 0; i < 3; ++i) cluster.start_sidecar(i);
    std::printf(
        "  The Lease does not exist yet: a replica creates it one lease duration after its first\n"
        "  404 and leads one renew deadline later (a deleted Lease may still have a live leader).\n");
    auto first = cluster.wait_for_leader(seconds{60});
    if (!first) throw std::runtime_error("no leader was elected within 60 s");
    std::printf("  %s leads after %.0f ms\n\n", cluster.identity(first->first).c_str(), ms(first->second));
    show_replicas(cluster);
    std::this_thread::sleep_for(seconds{2});  // let the followers open their watches
    show_footprint(cluster, options.sidecar_binary);

    std::vector<double> sigterm_ms, sigkill_ms;
    for (int round = 0; round < rounds; ++round) {
      for (int sig : {SIGTERM, SIGKILL}) {
        auto leader = cluster.leaders();
        if (leader.size() != 1) {
          auto found = cluster.wait_for_leader(seconds{30});
          if (!found) throw std::runtime_error("no leader");
          leader = {found->first};
        }
        const std::size_t old = leader.front();
        std::printf("\n%s the leader %s...\n", sig == SIGTERM ? "SIGTERM" : "SIGKILL",
                    cluster.identity(old).c_str());
        cluster.sidecar(old).signal(sig);
        auto next = cluster.wait_for_leader(seconds{60}, old);
        if (!next) throw std::runtime_error("no new leader within 60 s");
        const double took = ms(next->second);
        (sig == SIGTERM ? sigterm_ms : sigkill_ms).push_back(took);
        std::printf(
            "  %s leads %.0f ms after the %s%s\n", cluster.identity(next->first).c_str(), took,
            sig == SIGTERM ? "SIGTERM" : "SIGKILL",
            sig == SIGTERM
                ? " (the release delay, then the release, which the followers see through their watch)"
                : " (the lease expires, judged by each follower's own clock)");
        auto status = cluster.sidecar(old).wait_for(seconds{30});
        std::printf("  %s exited with status %d\n", cluster.identity(old).c_str(), status.value_or(-1));
        show_replicas(cluster);
        cluster.start_sidecar(old);  // back to three replicas
      }
    }
    auto lease = cluster.read_lease();
    std::printf("\nThe Lease now: %s\n", lease.is_null() ? "(missing)" : lease.at("spec").dump().c_str());
    std::printf("\nHandover times (signal to the next isLeader=true, observed through /leader):\n");
    for (double t : sigterm_ms) std::printf("  SIGTERM: %8.0f ms\n", t);
    for (double t : sigkill_ms) std::printf("  SIGKILL: %8.0f ms\n", t);
    std::printf("Samples with two replicas leading at once: %d\n", cluster.split_brain_sweeps());
    return cluster.split_brain_sweeps() == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "demo failed: %s\n", error.what());
    return 1;
  }
}
