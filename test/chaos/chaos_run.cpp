// The chaos suite: sidecars with short timings against the local API server while a driver
// injects faults at random; every replica's /leader and /readyz are sampled from outside; the
// sidecars log their own terms on CLOCK_BOOTTIME. At the end every process is stopped, the checker
// judges the history, and one summary line is printed. Exit 0 only without a split brain, without
// a sidecar dying on its own, and (with --strict-gap) without a gap over its bound.
//
// With --leases N, N independent elections (Leases chaos-0 ... chaos-N-1, --replicas sidecars each)
// share the one API server. Each Lease gets its own faults (its sidecars killed, paused or
// terminated; its requests delayed, dropped, failed or refused, through the API server's per-name
// faults; the Lease deleted and re-created, or reset in place), on its own schedule; token rotation
// and API server restarts hit them all. Each Lease is judged on its own, and the reports are added
// up: a split brain on any Lease fails the run. Transitions are counted from the terms and blamed
// on the last fault on their Lease (checker.h); --require-scale fails a run that does not reach
// issue 10's numbers (ScaleRule).
//
//   chaos_run --duration 60 [--leases 1] [--replicas 5] [--seed N] [--keep] [--strict-gap]
//             [--gap-bound-ms MS] [--sample-interval 5ms] [--require-scale]
//             [--lease-duration 1s --renew-deadline 700ms --retry-period 150ms]
#include <time.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "checker.h"
#include "http_client.h"
#include "local_cluster.h"
#include "process.h"
#include "util/micro_time.h"

namespace {

using namespace std::chrono;
namespace fs = std::filesystem;
using le::chaos::Cause;
using le::chaos::Nanos;
using le::testing::ChildProcess;
using le::testing::HttpClient;

Nanos wall_ns() { return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count(); }

// CLOCK_BOOTTIME, the clock the sidecars log their terms on: faults are marked on it too.
Nanos boot_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return Nanos{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// client-go's JitterFactor: a follower's next poll comes up to (1 + 1.2) retry periods later.
constexpr double kJitterFactor = 1.2;

const std::string kLeasesPath = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

struct Options {
  seconds duration{60};
  int leases = 1;
  int replicas = 5;  // per Lease
  std::uint64_t seed = std::random_device{}();
  bool keep = false;
  bool strict_gap = false;
  bool require_scale = false;
  std::optional<milliseconds> gap_bound;
  milliseconds lease_duration{1000};
  milliseconds renew_deadline{700};
  milliseconds retry_period{150};
  // Per sidecar. 5 ms with 5 sidecars; with more, the same total rate (about 1,000 requests a
  // second) is spread over them, so the samplers do not starve the sidecars of CPU on a small
  // machine. The sidecars' own terms (the inside view) miss nothing at any sampling rate.
  milliseconds sample_interval{0};
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "chaos_run: " << message << "\n";
  std::exit(2);
}

milliseconds parse_ms(const std::string& flag, const std::string& text) {
  std::smatch m;
  static const std::regex pattern(R"((\d+)(ms|s))");
  if (!std::regex_match(text, m, pattern)) usage_error(flag + " takes a duration like 700ms or 2s");
  const long long n = std::stoll(m[1]);
  return m[2] == "s" ? milliseconds{n * 1000} : milliseconds{n};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      return argv[++i];
    };
    try {
      if (flag == "--duration")
        o.duration = seconds{std::stol(value())};
      else if (flag == "--leases")
        o.leases = std::stoi(value());
      else if (flag == "--replicas")
        o.replicas = std::stoi(value());
      else if (flag == "--seed")
        o.seed = std::stoull(value());
      else if (flag == "--keep")
        o.keep = true;
      else if (flag == "--strict-gap")
        o.strict_gap = true;
      else if (flag == "--require-scale")
        o.require_scale = true;
      else if (flag == "--gap-bound-ms")
        o.gap_bound = milliseconds{std::stol(value())};
      else if (flag == "--lease-duration")
        o.lease_duration = parse_ms(flag, value());
      else if (flag == "--renew-deadline")
        o.renew_deadline = parse_ms(flag, value());
      else if (flag == "--retry-period")
        o.retry_period = parse_ms(flag, value());
      else if (flag == "--sample-interval")
        o.sample_interval = parse_ms(flag, value());
      else
        usage_error("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage_error(flag + " takes a number");
    }
  }
  if (o.replicas < 2) usage_error("--replicas must be at least 2");
  if (o.leases < 1 || o.leases > 100) usage_error("--leases must be between 1 and 100");
  if (o.duration.count() < 5) usage_error("--duration must be at least 5 (seconds)");
  if (o.sample_interval.count() == 0) {
    const int sidecars = o.leases * o.replicas;
    o.sample_interval = milliseconds{5 * std::max(1, (sidecars + 4) / 5)};
  }
  return o;
}

void write_atomically(const fs::path& path, const std::string& text) {
  {
    std::ofstream out(path.string() + ".new");
    out << text;
  }
  fs::rename(path.string() + ".new", path);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path make_temp_dir(const fs::path& parent) {
  std::string pattern = (parent / "lease-elector-chaos-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a work directory in " + parent.string());
  return pattern;
}

class Chaos {
 public:
  explicit Chaos(Options options) : o_(std::move(options)), rng_(o_.seed) {
    dir_ = make_temp_dir(fs::temp_directory_path());
    // The API server writes and fsyncs its data file after every change; at a hundred renewals
    // a second, the fsync on this machine's disk would make the API server the bottleneck.
    // Memory keeps the data across restarts just as well.
    data_dir_ = fs::is_directory("/dev/shm") ? make_temp_dir("/dev/shm") : dir_;
    api_port_ = le::testing::free_loopback_port();
    admin_port_ = le::testing::free_loopback_port();
    tokens_ = {"chaos-token-0"};
    write_tokens();
    write_atomically(dir_ / "token", tokens_.back() + "\n");
    // Plain HTTP: a restarted local API server makes a new CA, and the sidecars keep theirs.
    write_atomically(dir_ / "kubeconfig",
                     "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                     "clusters: [{name: c, cluster: {server: \"http://127.0.0.1:" +
                         std::to_string(api_port_) +
                         "\"}}]\n"
                         "users: [{name: u, user: {tokenFile: \"" +
                         (dir_ / "token").string() +
                         "\"}}]\n"
                         "contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n");
    api_http_.set_bearer_token(kAdminToken);
    start_apiserver();
    // Sized once: the observers hold on to their Election.
    elections_.resize(static_cast<std::size_t>(o_.leases));
    for (std::size_t k = 0; k < elections_.size(); ++k) {
      Election& e = elections_[k];
      e.name = "chaos-" + std::to_string(k);
      e.replicas.resize(static_cast<std::size_t>(o_.replicas));
      e.last_answer.assign(e.replicas.size(), std::nullopt);
      for (std::size_t i = 0; i < e.replicas.size(); ++i) {
        e.replicas[i].port = le::testing::free_loopback_port();
        start_sidecar(k, i);
      }
    }
  }

  ~Chaos() {
    for (auto& e : elections_) {
      for (auto& r : e.replicas) {
        if (r.process) r.process->signal(SIGCONT);
        r.process.reset();
      }
    }
    apiserver_.reset();
    std::error_code ignored;
    if (data_dir_ != dir_) fs::remove_all(data_dir_, ignored);
    if (!o_.keep) fs::remove_all(dir_, ignored);
  }

  int run();

 private:
  static constexpr const char* kAdminToken = "chaos-admin-token";

  struct Replica {
    std::unique_ptr<ChildProcess> process;
    int port = 0;
    int incarnation = 0;
    bool down = false;     // killed or terminated on purpose, restart scheduled
    bool stopped = false;  // SIGSTOPped, SIGCONT scheduled
    std::vector<std::string> logs;
  };
  // One Lease, its replicas, and what was seen of them.
  struct Election {
    std::string name;
    std::vector<Replica> replicas;
    steady_clock::time_point next_fault{};
    // Until then no other API fault or rewrite on this Lease: its own API fault is in force, or
    // the replicas hold off after a rewrite.
    steady_clock::time_point api_busy_until{};
    nlohmann::json api_faults;  // on this Lease's requests (FaultRules' byName); null: none
    // Guarded by mutex_.
    le::chaos::History history;
    std::vector<std::optional<bool>> last_answer;  // per replica
  };
  struct Pending {
    steady_clock::time_point at;
    std::function<void()> action;
  };

  void write_tokens() {
    std::string csv;
    csv += std::string(kAdminToken) + ",admin,admin,\"system:masters\"\n";
    for (const auto& t : tokens_) csv += t + ",sidecar,sidecar\n";
    write_atomically(dir_ / "tokens.csv", csv);
  }

  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(api_port_); }
  std::string admin_url() const { return "http://127.0.0.1:" + std::to_string(admin_port_); }

  void start_apiserver() {
    const fs::path port_file = dir_ / "apiserver.json";
    fs::remove(port_file);
    apiserver_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FAKE_APISERVER_BINARY, "--listen", "127.0.0.1:" + std::to_string(api_port_),
                                 "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_), "--data-file",
                                 (data_dir_ / "data.json").string(), "--token-file",
                                 (dir_ / "tokens.csv").string(), "--port-file", port_file.string()},
        (dir_ / ("apiserver." + std::to_string(apiserver_starts_++) + ".log")).string());
    const auto until = steady_clock::now() + 20s;
    while (!fs::exists(port_file)) {
      if (!apiserver_->running() || steady_clock::now() > until)
        throw std::runtime_error("the local API server did not start: " + apiserver_->log());
      std::this_thread::sleep_for(5ms);
    }
    apiserver_down_ = false;
  }

  void start_sidecar(std::size_t k, std::size_t i) {
    Election& e = elections_[k];
    Replica& r = e.replicas[i];
    const std::string log =
        (dir_ / (e.name + ".replica-" + std::to_string(i) + "." + std::to_string(r.incarnation++) + ".log"))
            .string();
    r.logs.push_back(log);
    auto ms_text = [](milliseconds d) { return std::to_string(d.count()) + "ms"; };
    r.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            SIDECAR_BINARY, "--lease-name", e.name, "--namespace", "default", "--id",
            "replica-" + std::to_string(i), "--http", "127.0.0.1:" + std::to_string(r.port), "--kubeconfig",
            (dir_ / "kubeconfig").string(), "--lease-duration", ms_text(o_.lease_duration),
            "--renew-deadline", ms_text(o_.renew_deadline), "--retry-period", ms_text(o_.retry_period),
            // A release no sooner than every validUntil already handed out has
            // passed: the outside rule holds validUntil as a promise.
            "--release-delay", ms_text(o_.renew_deadline), "--log-level", "debug"},
        log);
    r.down = false;
    r.stopped = false;
  }

  // Every Lease's API faults as one rule set (PUT /faults replaces them all). With one Lease its
  // faults are the general ones, on every request, as they were before the suite had more Leases.
  void push_faults() {
    if (apiserver_down_) return;  // pushed again once it is back
    nlohmann::json rules = nlohmann::json::object();
    if (elections_.size() == 1) {
      if (!elections_[0].api_faults.is_null()) rules = elections_[0].api_faults;
    } else {
      nlohmann::json by_name = nlohmann::json::object();
      for (const auto& e : elections_) {
        if (!e.api_faults.is_null()) by_name[e.name] = e.api_faults;
      }
      if (!by_name.empty()) rules["byName"] = std::move(by_name);
    }
    auto answer =
        admin_http_.request("PUT", admin_url() + "/faults", rules.dump(), "application/json", 1000ms);
    if (answer.status != 200) warn("setting faults failed (" + std::to_string(answer.status) + ")");
  }
  void post_tokens(const nlohmann::json& body) {
    auto answer =
        admin_http_.request("POST", admin_url() + "/tokens", body.dump(), "application/json", 1000ms);
    if (answer.status != 200)
      warn("changing tokens failed (" + std::to_string(answer.status) +
           "; 0: the API server is restarting, tokens.csv has them)");
  }
  // The API server may be down (a restart under way), but an injection that did not happen must
  // not pass unnoticed.
  void warn(const std::string& text) { std::cerr << "chaos: " << text << "\n"; }
  void note(const std::string& text) {
    if (std::getenv("CHAOS_VERBOSE"))
      std::cerr << "chaos: " << duration<double>(steady_clock::now() - started_).count() << " s: " << text
                << "\n";
  }

  // A fault on Lease k from `begin` until end_mark(); returns its index among the Lease's faults.
  std::size_t mark(std::size_t k, Cause cause, Nanos begin = boot_ns()) {
    std::lock_guard lock(mutex_);
    auto& faults = elections_[k].history.faults;
    faults.push_back({begin, begin, cause});
    return faults.size() - 1;
  }
  void end_mark(std::size_t k, std::size_t index) {
    const Nanos now = boot_ns();
    std::lock_guard lock(mutex_);
    elections_[k].history.faults[index].end_boot = now;
  }
  // Token rotation and API server restarts hit every Lease.
  std::vector<std::size_t> mark_all(Cause cause) {
    const Nanos now = boot_ns();
    std::vector<std::size_t> marks;
    for (std::size_t k = 0; k < elections_.size(); ++k) marks.push_back(mark(k, cause, now));
    return marks;
  }
  void end_mark_all(const std::vector<std::size_t>& marks) {
    for (std::size_t k = 0; k < marks.size(); ++k) end_mark(k, marks[k]);
  }

  void observe(std::size_t k, std::size_t i);
  milliseconds inject(std::size_t k);
  void inject_global();
  bool rewrite_lease(const Election& e, bool recreate);
  std::optional<std::size_t> current_leader(const Election& e);
  std::size_t pick(const Election& e, bool prefer_leader, double leader_probability);
  static int available(const Election& e);
  // Lease k's requests (all requests, without k) are faulty until `end`: availability and the
  // gap bound are judged outside that window plus a recovery allowance.
  void api_fault_window(std::optional<std::size_t> k, steady_clock::time_point end) {
    const Nanos recovery = duration_cast<nanoseconds>(o_.lease_duration + polling() * 2).count();
    const le::chaos::Window window{
        wall_ns(), wall_ns() + duration_cast<nanoseconds>(end - steady_clock::now()).count() + recovery};
    std::lock_guard lock(mutex_);
    for (std::size_t j = 0; j < elections_.size(); ++j) {
      if (k && *k != j) continue;
      elections_[j].history.api_unhealthy.push_back(window);
      if (k) elections_[j].api_busy_until = end;
    }
    if (!k) api_busy_until_ = end;
  }
  milliseconds polling() const {
    return duration_cast<milliseconds>(o_.retry_period * (1.0 + kJitterFactor));
  }
  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  milliseconds lease_times(double a, double b) {
    return duration_cast<milliseconds>(o_.lease_duration * uniform(a, b));
  }
  void later(milliseconds after, std::function<void()> action) {
    pending_.push_back({steady_clock::now() + after, std::move(action)});
  }
  void collect_terms();

  Options o_;
  std::mt19937_64 rng_;
  fs::path dir_, data_dir_;
  int api_port_ = 0, admin_port_ = 0, apiserver_starts_ = 0;
  std::unique_ptr<ChildProcess> apiserver_;
  bool apiserver_down_ = false;  // stopped for a restart
  std::vector<std::string> tokens_;
  int token_serial_ = 0;
  std::vector<Election> elections_;
  HttpClient admin_http_;
  HttpClient api_http_;  // as an administrator (kubectl, helm) would
  std::vector<Pending> pending_;
  steady_clock::time_point api_busy_until_{};  // a restart under way
  steady_clock::time_point started_ = steady_clock::now();
  std::map<std::string, int> injected_;
  int unexpected_exits_ = 0;
  int token_leaks_ = 0;  // a bearer token seen in an endpoint's answer or a sidecar's log

  std::mutex mutex_;
  std::atomic<bool> observing_{true};
};

void Chaos::observe(std::size_t k, std::size_t i) {
  Election& e = elections_[k];
  HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(e.replicas[i].port);
  // Spread the samplers over the interval rather than have them all ask at once.
  std::this_thread::sleep_for(o_.sample_interval * static_cast<int>(i + k * e.replicas.size()) /
                              static_cast<int>(elections_.size() * e.replicas.size()));
  for (unsigned n = 0; observing_; ++n) {
    // Every fourth request asks /readyz, what a Service's readiness probe would see.
    const bool readyz = n % 4 == 3;
    const Nanos sent = wall_ns();
    // Shorter than lease duration - renew deadline: an answer that was queued while the replica
    // was paused cannot be attributed to a request sent long before (see checker.h).
    auto answer = http.get(base + (readyz ? "/readyz" : "/leader"), 200ms);
    const Nanos answered = wall_ns();
    if (answer.status == 200 || (readyz && answer.status == 503)) {
      const auto body = nlohmann::json::parse(answer.body, nullptr, false);
      if (!body.is_discarded() && body.is_object()) {
        le::chaos::Sample s{static_cast<int>(i), sent, answered, body.value("isLeader", false), 0};
        if (!readyz && s.is_leader) {
          const auto until = le::util::parse_micro_time(body.value("validUntil", std::string()));
          s.valid_until_wall = until ? duration_cast<nanoseconds>(until->time_since_epoch()).count() : 0;
        }
        std::lock_guard lock(mutex_);
        if (answer.body.find("chaos-token-") != std::string::npos) ++token_leaks_;
        e.history.samples.push_back(s);
        e.last_answer[i] = s.is_leader;
      }
    }
    std::this_thread::sleep_for(o_.sample_interval);
  }
}

std::optional<std::size_t> Chaos::current_leader(const Election& e) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < e.last_answer.size(); ++i) {
    if (e.last_answer[i].value_or(false) && !e.replicas[i].down && !e.replicas[i].stopped) return i;
  }
  return std::nullopt;
}

int Chaos::available(const Election& e) {
  int n = 0;
  for (const auto& r : e.replicas) n += !r.down && !r.stopped;
  return n;
}

// A victim among the Lease's replicas that are up: its leader with the given probability.
std::size_t Chaos::pick(const Election& e, bool prefer_leader, double leader_probability) {
  if (prefer_leader && uniform(0, 1) < leader_probability) {
    if (const auto leader = current_leader(e)) return *leader;
  }
  std::vector<std::size_t> up;
  for (std::size_t i = 0; i < e.replicas.size(); ++i) {
    if (!e.replicas[i].down && !e.replicas[i].stopped) up.push_back(i);
  }
  return up[static_cast<std::size_t>(uniform(0, static_cast<double>(up.size()) - 1e-9))];
}

// As `kubectl replace --force` (delete, then create from the manifest: a new uid) or `kubectl
// replace` and `helm upgrade --force` (an update from the manifest with the current
// resourceVersion: the same uid), with the chart's empty spec: the holder is blanked under a live
// leader. Returns whether the API server took it.
bool Chaos::rewrite_lease(const Election& e, bool recreate) {
  const std::string collection = api_url() + kLeasesPath;
  nlohmann::json manifest = {{"apiVersion", "coordination.k8s.io/v1"},
                             {"kind", "Lease"},
                             {"metadata", {{"name", e.name}, {"namespace", "default"}}},
                             {"spec", nlohmann::json::object()}};
  if (recreate) {
    const auto deleted = api_http_.request("DELETE", collection + "/" + e.name, "", "", 1000ms);
    if (deleted.status != 200 && deleted.status != 202 && deleted.status != 404) {
      warn("deleting Lease " + e.name + " failed (" + std::to_string(deleted.status) + ")");
      return false;
    }
    const auto created = api_http_.request("POST", collection, manifest.dump(), "application/json", 1000ms);
    // 409 AlreadyExists: a replica created it first, after the delete; a new uid all the same.
    if (created.status == 201 || created.status == 409) return true;
    warn("re-creating Lease " + e.name + " failed (" + std::to_string(created.status) +
         "); the replicas will create it");
    return deleted.status != 404;
  }
  // A renewal between the read and the write is a 409; read again, as an operator would.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto current = api_http_.get(collection + "/" + e.name, 1000ms);
    const auto lease = nlohmann::json::parse(current.body, nullptr, false);
    if (current.status != 200 || lease.is_discarded() || !lease.contains("metadata")) {
      warn("reading Lease " + e.name + " failed (" + std::to_string(current.status) + ")");
      return false;
    }
    manifest["metadata"]["resourceVersion"] = lease["metadata"].value("resourceVersion", "");
    const auto put =
        api_http_.request("PUT", collection + "/" + e.name, manifest.dump(), "application/json", 1000ms);
    if (put.status == 200) return true;
    if (put.status != 409) {
      warn("resetting Lease " + e.name + " failed (" + std::to_string(put.status) + ")");
      return false;
    }
  }
  return false;
}

// One fault on Lease k. Returns how long the Lease stays quiet before its next fault: a retry
// period when none could be injected now (too few replicas up and its API busy).
milliseconds Chaos::inject(std::size_t k) {
  Election& e = elections_[k];
  const auto now = steady_clock::now();
  const bool api_free = !apiserver_down_ && now >= api_busy_until_ && now >= e.api_busy_until;
  // Keep a majority of replicas able to lead, so gaps measure the election, not an empty room.
  const bool may_take = available(e) > (o_.replicas + 1) / 2;
  std::vector<std::string> choices;
  if (may_take) choices.insert(choices.end(), {"kill-restart", "kill-restart", "stop-cont", "stop-cont"});
  if (api_free) {
    choices.insert(choices.end(), {"latency-spike", "5xx-burst", "dropped-connections", "409-storm",
                                   "delete-recreate", "reset"});
    if (may_take) choices.push_back("late-release");
  }
  if (choices.empty()) return o_.retry_period;
  const std::string fault =
      choices[static_cast<std::size_t>(uniform(0, static_cast<double>(choices.size()) - 1e-9))];
  ++injected_[fault];
  note(e.name + ": " + fault);

  if (fault == "kill-restart") {
    const std::size_t i = pick(e, true, 0.5);
    note("  SIGKILL replica-" + std::to_string(i));
    const auto m = mark(k, Cause::sigkill);
    e.replicas[i].process->kill_now();
    e.replicas[i].down = true;
    later(lease_times(0, 1), [this, k, i, m] {
      start_sidecar(k, i);
      end_mark(k, m);
    });
  } else if (fault == "stop-cont") {
    // Often well beyond the lease: the woken leader must not answer as leader even once.
    const std::size_t i = pick(e, true, 0.6);
    note("  SIGSTOP replica-" + std::to_string(i));
    const auto m = mark(k, Cause::sigstop);
    e.replicas[i].process->signal(SIGSTOP);
    e.replicas[i].stopped = true;
    later(lease_times(0.2, 3), [this, k, i, m] {
      elections_[k].replicas[i].process->signal(SIGCONT);
      elections_[k].replicas[i].stopped = false;
      end_mark(k, m);
    });
  } else if (fault == "late-release") {
    // The leader's release is applied at once but answered late (up to just under its request
    // timeout), while followers poll: another replica may lead before the answer arrives.
    const auto jitter = duration_cast<milliseconds>(o_.renew_deadline / 2) - 30ms;
    e.api_faults = {{"latencyJitterMs", jitter.count()}};
    push_faults();
    const auto clear_at = o_.renew_deadline * 3;  // the release comes a release delay after SIGTERM
    api_fault_window(k, steady_clock::now() + clear_at);
    later(clear_at, [this, k] {
      elections_[k].api_faults = nullptr;
      push_faults();
    });
    const std::size_t i = pick(e, true, 1.0);
    note("  SIGTERM replica-" + std::to_string(i));
    const auto m = mark(k, Cause::sigterm);
    e.replicas[i].process->signal(SIGTERM);
    e.replicas[i].down = true;
    later(lease_times(1, 2), [this, k, i, m] {
      auto& process = *elections_[k].replicas[i].process;
      if (process.wait_for(5s) == std::nullopt) process.kill_now();
      start_sidecar(k, i);
      end_mark(k, m);
    });
  } else if (fault == "delete-recreate" || fault == "reset") {
    const bool recreate = fault == "delete-recreate";
    const Nanos begin = boot_ns();
    const Nanos begin_wall = wall_ns();
    if (rewrite_lease(e, recreate)) {
      mark(k, recreate ? Cause::delete_recreate : Cause::reset, begin);
      // The replicas hold off for a lease duration (README, Safety); the gap that follows is
      // judged against the hold-off bound, and no other fault on this Lease's API meanwhile.
      const milliseconds holdoff = o_.lease_duration + o_.renew_deadline + polling() * 2;
      std::lock_guard lock(mutex_);
      e.history.holdoff.push_back({begin_wall, begin_wall + duration_cast<nanoseconds>(holdoff).count()});
      e.api_busy_until = steady_clock::now() + holdoff;
      // Nor any other fault before the takeover, a lease duration and a poll after the rewrite:
      // the transition is the rewrite's.
      return o_.lease_duration + polling() * 2 + lease_times(0, 1);
    }
  } else {
    nlohmann::json faults;
    milliseconds lasts = lease_times(0.5, 2);
    Cause cause = Cause::conflict_storm;
    if (fault == "latency-spike") {
      // Longer than the renew deadline: the leader must step down in time, not hang on.
      faults["latencyMs"] = (o_.renew_deadline + milliseconds{static_cast<int>(uniform(50, 500))}).count();
      lasts = lease_times(1, 2.5);
      cause = Cause::latency;
    } else if (fault == "5xx-burst") {
      faults["errorRate"] = uniform(0.5, 1);
      faults["errorStatus"] = uniform(0, 1) < 0.5 ? 500 : 503;
      faults["retryAfterSeconds"] = uniform(0, 1) < 0.5 ? 0 : 1;
      cause = Cause::server_error;
    } else if (fault == "dropped-connections") {
      faults["dropRate"] = uniform(0.3, 1);
      cause = Cause::partition;
    } else {
      faults["conflictRate"] = uniform(0.5, 1);
    }
    e.api_faults = faults;
    push_faults();
    const auto m = mark(k, cause);
    api_fault_window(k, steady_clock::now() + lasts);
    later(lasts, [this, k, m] {
      elections_[k].api_faults = nullptr;
      push_faults();
      end_mark(k, m);
    });
  }
  // Quiet stretches between faults, so leadership is also judged with a healthy API server.
  return lease_times(0.5, 3);
}

// A fault on every Lease at once: the API server's token, or the API server itself.
void Chaos::inject_global() {
  std::vector<std::string> choices{"token-rotation", "token-rotation"};
  if (!apiserver_down_ && steady_clock::now() >= api_busy_until_) choices.push_back("apiserver-restart");
  const std::string fault =
      choices[static_cast<std::size_t>(uniform(0, static_cast<double>(choices.size()) - 1e-9))];
  ++injected_[fault];
  note(fault);

  if (fault == "token-rotation") {
    // As the kubelet rotates a projected token: the new one is valid first, the file is swapped,
    // and the old one is revoked once the sidecars had time to pick the file up.
    const auto marks = mark_all(Cause::token_rotation);
    const std::string fresh = "chaos-token-" + std::to_string(++token_serial_);
    post_tokens({{"token", fresh}, {"user", "sidecar"}});
    tokens_.push_back(fresh);
    write_tokens();
    write_atomically(dir_ / "token", fresh + "\n");
    later(lease_times(1, 2), [this, fresh, marks] {
      while (tokens_.size() > 1 && tokens_.front() != fresh) {
        post_tokens({{"revoke", tokens_.front()}});
        tokens_.erase(tokens_.begin());
      }
      write_tokens();
      end_mark_all(marks);
    });
  } else {
    const auto marks = mark_all(Cause::apiserver_restart);
    apiserver_->signal(SIGTERM);
    if (apiserver_->wait_for(5s) == std::nullopt) apiserver_->kill_now();
    apiserver_down_ = true;
    const auto down_for = lease_times(0, 1.5);
    api_fault_window(std::nullopt, steady_clock::now() + down_for + 500ms);
    later(down_for, [this, marks] {
      start_apiserver();
      push_faults();  // the Leases' faults still in force
      end_mark_all(marks);
    });
  }
}

void Chaos::collect_terms() {
  static const std::regex term(R"(leadership-term \w+ start_boot_ns=(\d+) valid_until_boot_ns=(\d+))");
  for (auto& e : elections_) {
    for (std::size_t i = 0; i < e.replicas.size(); ++i) {
      for (const auto& log : e.replicas[i].logs) {
        std::map<Nanos, Nanos> terms;  // start -> last end logged
        const std::string text = read_text(log);
        if (text.find("chaos-token-") != std::string::npos) {
          ++token_leaks_;
          std::cerr << "chaos: a bearer token appears in " << log << "\n";
        }
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
          std::smatch m;
          if (line.find("leadership-term") == std::string::npos) continue;  // the regex is slow
          if (std::regex_search(line, m, term)) terms[std::stoll(m[1])] = std::stoll(m[2]);
        }
        for (const auto& [start, end] : terms) e.history.terms.push_back({static_cast<int>(i), start, end});
      }
    }
  }
}

int Chaos::run() {
  std::vector<std::thread> observers;
  for (std::size_t k = 0; k < elections_.size(); ++k) {
    for (std::size_t i = 0; i < elections_[k].replicas.size(); ++i) {
      observers.emplace_back([this, k, i] { observe(k, i); });
    }
  }
  const auto start = steady_clock::now();
  started_ = start;
  const auto end = start + o_.duration;
  {
    std::lock_guard lock(mutex_);
    for (auto& e : elections_) e.history.begin_wall = wall_ns();
  }
  // The first election is not a fault's: give it one lease duration before faults begin, and
  // let the Leases' faults begin apart.
  for (auto& e : elections_) e.next_fault = start + o_.lease_duration * 2 + lease_times(0, 2);
  // The faults on every Lease at once come rarer: about one in six faults with one Lease (a
  // restart in three of them), as before the suite had more Leases.
  const auto global_interval = [this] { return lease_times(4, 16); };
  auto next_global_fault = start + o_.lease_duration * 2 + global_interval();
  while (steady_clock::now() < end) {
    const auto now = steady_clock::now();
    for (std::size_t k = 0; k < pending_.size();) {
      if (pending_[k].at <= now) {
        auto action = std::move(pending_[k].action);
        pending_.erase(pending_.begin() + static_cast<long>(k));
        action();
      } else {
        ++k;
      }
    }
    for (std::size_t k = 0; k < elections_.size(); ++k) {
      for (std::size_t i = 0; i < elections_[k].replicas.size(); ++i) {
        auto& r = elections_[k].replicas[i];
        if (!r.down && !r.process->running()) {
          ++unexpected_exits_;
          const std::string log = r.process->log();
          std::cerr << "chaos: " << elections_[k].name << " replica-" << i
                    << " exited on its own; its log ends:\n"
                    << log.substr(log.size() > 2000 ? log.size() - 2000 : 0) << "\n";
          start_sidecar(k, i);
        }
      }
    }
    if (now < end - o_.lease_duration * 3) {
      for (std::size_t k = 0; k < elections_.size(); ++k) {
        auto& e = elections_[k];
        if (now < e.next_fault) continue;
        e.next_fault = now + inject(k);
      }
      if (now >= next_global_fault) {
        inject_global();
        next_global_fault = now + global_interval();
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  // Undo every fault, then stop the replicas the way Kubernetes would (SIGTERM, a hand-over).
  if (!apiserver_->running() || apiserver_down_) start_apiserver();
  for (auto& e : elections_) e.api_faults = nullptr;
  push_faults();
  for (auto& e : elections_) {
    for (auto& r : e.replicas) {
      if (r.stopped) r.process->signal(SIGCONT);
    }
  }
  observing_ = false;
  for (auto& t : observers) t.join();
  {
    std::lock_guard lock(mutex_);
    const Nanos end_wall = wall_ns();
    const Nanos end_boot = boot_ns();
    for (auto& e : elections_) {
      e.history.end_wall = end_wall;
      e.history.end_boot = end_boot;  // the terms of the shutdown below are no transitions
    }
  }
  for (auto& e : elections_) {
    for (auto& r : e.replicas) r.process->signal(SIGTERM);
  }
  for (auto& e : elections_) {
    for (auto& r : e.replicas) {
      if (r.process->wait_for(5s) == std::nullopt) r.process->kill_now();
    }
  }
  apiserver_.reset();
  collect_terms();

  le::chaos::CheckOptions check_options;
  const auto bound = o_.gap_bound.value_or(o_.lease_duration + 2 * polling() + 2 * o_.sample_interval);
  check_options.gap_bound = duration_cast<nanoseconds>(bound).count();
  check_options.holdoff_gap_bound = duration_cast<nanoseconds>(bound + o_.renew_deadline).count();
  // A fault's transition comes within a lease duration and a poll of its end (an expiry), or of
  // a hold-off's (a rewrite); one later than this is nobody's.
  check_options.attribution_window =
      duration_cast<nanoseconds>(o_.lease_duration + o_.renew_deadline + 2 * polling()).count();
  le::chaos::Report report;
  std::size_t samples = 0, terms = 0;
  int leases_without_terms = 0;
  for (auto& e : elections_) {
    // The first election (a create, then a wait before leading) is not a fault's gap: each
    // Lease is judged from its first leader on.
    Nanos first_leader = e.history.end_wall;
    for (const auto& s : e.history.samples) {
      if (s.is_leader) first_leader = std::min(first_leader, s.sent_wall);
    }
    e.history.begin_wall = std::max(e.history.begin_wall, first_leader);
    samples += e.history.samples.size();
    terms += e.history.terms.size();
    // A Lease nobody led proves nothing (and a sidecar that logs no terms proves nothing).
    if (e.history.terms.empty()) {
      ++leases_without_terms;
      warn(e.name + ": no replica logged a term");
    }
    report.add(le::chaos::check(std::move(e.history), check_options), e.name);
    e.history = {};
  }
  for (const auto& detail : report.details) std::cerr << "chaos: " << detail << "\n";
  std::string faults;
  for (const auto& [name, count] : injected_) faults += " " + name + "=" + std::to_string(count);
  const std::string shortfall = le::chaos::scale_shortfall(report, le::chaos::ScaleRule{});
  std::cout << report.summary_line() << " samples=" << samples << " terms=" << terms
            << " unexpected_exits=" << unexpected_exits_ << " token_leaks=" << token_leaks_
            << " duration_s=" << o_.duration.count() << " leases=" << o_.leases << " replicas=" << o_.replicas
            << " sample_interval_ms=" << o_.sample_interval.count();
  if (o_.require_scale) std::cout << " scale=" << (shortfall.empty() ? "counts" : "short(" + shortfall + ")");
  std::cout << " seed=" << o_.seed << " faults:" << faults << std::endl;
  if (o_.keep) std::cerr << "chaos: logs kept in " << dir_.string() << "\n";
  const bool failed = report.split_brains() > 0 || unexpected_exits_ > 0 || token_leaks_ > 0 ||
                      leases_without_terms > 0 || (o_.strict_gap && report.gaps_over_bound > 0) ||
                      (o_.require_scale && !shortfall.empty());
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    Chaos chaos(parse(argc, argv));
    return chaos.run();
  } catch (const std::exception& e) {
    std::cerr << "chaos_run: " << e.what() << "\n";
    return 1;
  }
}
