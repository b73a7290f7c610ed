// The chaos suite: N sidecars with short timings against the local API server while a driver
// injects faults at random; every replica's /leader and /readyz are sampled from outside at a high
// rate; the sidecars log their own terms on CLOCK_BOOTTIME. At the end every process is stopped,
// the checker judges the history, and one summary line is printed. Exit 0 only without a split
// brain, without a sidecar dying on its own, and (with --strict-gap) without a gap over its bound.
//
//   chaos_run --duration 60 [--replicas 5] [--seed N] [--keep] [--strict-gap] [--gap-bound-ms MS]
//             [--lease-duration 1s --renew-deadline 700ms --retry-period 150ms]
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
using le::chaos::Nanos;
using le::testing::ChildProcess;
using le::testing::HttpClient;

Nanos wall_ns() { return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count(); }

// client-go's JitterFactor: a follower's next poll comes up to (1 + 1.2) retry periods later.
constexpr double kJitterFactor = 1.2;

struct Options {
  seconds duration{60};
  int replicas = 5;
  std::uint64_t seed = std::random_device{}();
  bool keep = false;
  bool strict_gap = false;
  std::optional<milliseconds> gap_bound;
  milliseconds lease_duration{1000};
  milliseconds renew_deadline{700};
  milliseconds retry_period{150};
  milliseconds sample_interval{5};
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
      else if (flag == "--replicas")
        o.replicas = std::stoi(value());
      else if (flag == "--seed")
        o.seed = std::stoull(value());
      else if (flag == "--keep")
        o.keep = true;
      else if (flag == "--strict-gap")
        o.strict_gap = true;
      else if (flag == "--gap-bound-ms")
        o.gap_bound = milliseconds{std::stol(value())};
      else if (flag == "--lease-duration")
        o.lease_duration = parse_ms(flag, value());
      else if (flag == "--renew-deadline")
        o.renew_deadline = parse_ms(flag, value());
      else if (flag == "--retry-period")
        o.retry_period = parse_ms(flag, value());
      else
        usage_error("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage_error(flag + " takes a number");
    }
  }
  if (o.replicas < 2) usage_error("--replicas must be at least 2");
  if (o.duration.count() < 5) usage_error("--duration must be at least 5 (seconds)");
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

class Chaos {
 public:
  explicit Chaos(Options options) : o_(std::move(options)), rng_(o_.seed) {
    std::string pattern = (fs::temp_directory_path() / "lease-elector-chaos-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a work directory");
    dir_ = pattern;
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
    start_apiserver();
    replicas_.resize(static_cast<std::size_t>(o_.replicas));
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      replicas_[i].port = le::testing::free_loopback_port();
      start_sidecar(i);
    }
  }

  ~Chaos() {
    for (auto& r : replicas_) {
      if (r.process) r.process->signal(SIGCONT);
      r.process.reset();
    }
    apiserver_.reset();
    std::error_code ignored;
    if (!o_.keep) fs::remove_all(dir_, ignored);
  }

  int run();

 private:
  struct Replica {
    std::unique_ptr<ChildProcess> process;
    int port = 0;
    int incarnation = 0;
    bool down = false;     // killed or terminated on purpose, restart scheduled
    bool stopped = false;  // SIGSTOPped, SIGCONT scheduled
    std::vector<std::string> logs;
  };
  struct Pending {
    steady_clock::time_point at;
    std::function<void()> action;
  };

  void write_tokens() {
    std::string csv;
    csv += "chaos-admin-token,admin,admin,\"system:masters\"\n";
    for (const auto& t : tokens_) csv += t + ",sidecar,sidecar\n";
    write_atomically(dir_ / "tokens.csv", csv);
  }

  void start_apiserver() {
    const fs::path port_file = dir_ / "apiserver.json";
    fs::remove(port_file);
    apiserver_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FAKE_APISERVER_BINARY, "--listen", "127.0.0.1:" + std::to_string(api_port_),
                                 "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_), "--data-file",
                                 (dir_ / "data.json").string(), "--token-file",
                                 (dir_ / "tokens.csv").string(), "--port-file", port_file.string()},
        (dir_ / ("apiserver." + std::to_string(apiserver_starts_++) + ".log")).string());
    const auto until = steady_clock::now() + 20s;
    while (!fs::exists(port_file)) {
      if (!apiserver_->running() || steady_clock::now() > until)
        throw std::runtime_error("the local API server did not start: " + apiserver_->log());
      std::this_thread::sleep_for(5ms);
    }
  }

  void start_sidecar(std::size_t i) {
    Replica& r = replicas_[i];
    const std::string log =
        (dir_ / ("replica-" + std::to_string(i) + "." + std::to_string(r.incarnation++) + ".log")).string();
    r.logs.push_back(log);
    auto ms_text = [](milliseconds d) { return std::to_string(d.count()) + "ms"; };
    r.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            SIDECAR_BINARY, "--lease-name", "chaos", "--namespace", "default", "--id",
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

  void set_faults(const nlohmann::json& faults) {
    auto answer = admin_http_.request("PUT", "http://127.0.0.1:" + std::to_string(admin_port_) + "/faults",
                                      faults.dump(), "application/json", 1000ms);
    if (answer.status != 200) warn("setting faults failed (" + std::to_string(answer.status) + ")");
  }
  void post_tokens(const nlohmann::json& body) {
    auto answer = admin_http_.request("POST", "http://127.0.0.1:" + std::to_string(admin_port_) + "/tokens",
                                      body.dump(), "application/json", 1000ms);
    if (answer.status != 200)
      warn("changing tokens failed (" + std::to_string(answer.status) + "; 0: the API server is restarting, tokens.csv has them)");
  }
  // The API server may be down (a restart under way), but an injection that did not happen must
  // not pass unnoticed.
  void warn(const std::string& text) { std::cerr << "chaos: " << text << "\n"; }
  void note(const std::string& text) {
    if (std::getenv("CHAOS_VERBOSE"))
      std::cerr << "chaos: " << duration<double>(steady_clock::now() - started_).count() << " s: " << text
                << "\n";
  }

  void observe(std::size_t i);
  void inject();
  std::optional<std::size_t> current_leader();
  std::size_t pick(bool prefer_leader, double leader_probability);
  int available() const;
  void api_fault_window(steady_clock::time_point end) {
    api_busy_until_ = end;
    const Nanos recovery = duration_cast<nanoseconds>(o_.lease_duration + polling() * 2).count();
    std::lock_guard lock(mutex_);
    history_.api_unhealthy.push_back(
        {wall_ns(), wall_ns() + duration_cast<nanoseconds>(end - steady_clock::now()).count() + recovery});
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
  fs::path dir_;
  int api_port_ = 0, admin_port_ = 0, apiserver_starts_ = 0;
  std::unique_ptr<ChildProcess> apiserver_;
  std::vector<std::string> tokens_;
  int token_serial_ = 0;
  std::vector<Replica> replicas_;
  HttpClient admin_http_;
  std::vector<Pending> pending_;
  steady_clock::time_point api_busy_until_{};
  steady_clock::time_point started_ = steady_clock::now();
  std::map<std::string, int> injected_;
  int unexpected_exits_ = 0;
  int token_leaks_ = 0;  // a bearer token seen in an endpoint's answer or a sidecar's log

  std::mutex mutex_;
  le::chaos::History history_;
  std::vector<std::optional<bool>> last_answer_;  // per replica, guarded by mutex_
  std::atomic<bool> observing_{true};
};

void Chaos::observe(std::size_t i) {
  HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(replicas_[i].port);
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
        history_.samples.push_back(s);
        last_answer_[i] = s.is_leader;
      }
    }
    std::this_thread::sleep_for(o_.sample_interval);
  }
}

std::optional<std::size_t> Chaos::current_leader() {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < last_answer_.size(); ++i) {
    if (last_answer_[i].value_or(false) && !replicas_[i].down && !replicas_[i].stopped) return i;
  }
  return std::nullopt;
}

int Chaos::available() const {
  int n = 0;
  for (const auto& r : replicas_) n += !r.down && !r.stopped;
  return n;
}

// A victim among the replicas that are up: the leader with the given probability.
std::size_t Chaos::pick(bool prefer_leader, double leader_probability) {
  if (prefer_leader && uniform(0, 1) < leader_probability) {
    if (const auto leader = current_leader()) return *leader;
  }
  std::vector<std::size_t> up;
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    if (!replicas_[i].down && !replicas_[i].stopped) up.push_back(i);
  }
  return up[static_cast<std::size_t>(uniform(0, static_cast<double>(up.size()) - 1e-9))];
}

void Chaos::inject() {
  const bool api_free = steady_clock::now() >= api_busy_until_;
  // Keep a majority of replicas able to lead, so gaps measure the election, not an empty room.
  const bool may_take = available() > (o_.replicas + 1) / 2;
  std::vector<std::string> choices{"token-rotation"};
  if (may_take) choices.insert(choices.end(), {"kill-restart", "kill-restart", "stop-cont", "stop-cont"});
  if (api_free) {
    choices.insert(choices.end(),
                   {"latency-spike", "5xx-burst", "dropped-connections", "409-storm", "apiserver-restart"});
    if (may_take) choices.push_back("late-release");
  }
  const std::string fault =
      choices[static_cast<std::size_t>(uniform(0, static_cast<double>(choices.size()) - 1e-9))];
  ++injected_[fault];
  note(fault);

  if (fault == "kill-restart") {
    const std::size_t i = pick(true, 0.5);
    note("  SIGKILL replica-" + std::to_string(i));
    replicas_[i].process->kill_now();
    replicas_[i].down = true;
    later(lease_times(0, 1), [this, i] { start_sidecar(i); });
  } else if (fault == "stop-cont") {
    // Often well beyond the lease: the woken leader must not answer as leader even once.
    const std::size_t i = pick(true, 0.6);
    note("  SIGSTOP replica-" + std::to_string(i));
    replicas_[i].process->signal(SIGSTOP);
    replicas_[i].stopped = true;
    later(lease_times(0.2, 3), [this, i] {
      replicas_[i].process->signal(SIGCONT);
      replicas_[i].stopped = false;
    });
  } else if (fault == "late-release") {
    // The leader's release is applied at once but answered late (up to just under its request
    // timeout), while followers poll: another replica may lead before the answer arrives.
    const auto jitter = duration_cast<milliseconds>(o_.renew_deadline / 2) - 30ms;
    set_faults({{"latencyJitterMs", jitter.count()}});
    const auto clear_at = o_.renew_deadline * 3;  // the release comes a release delay after SIGTERM
    api_fault_window(steady_clock::now() + clear_at);
    later(clear_at, [this] { set_faults(nlohmann::json::object()); });
    const std::size_t i = pick(true, 1.0);
    note("  SIGTERM replica-" + std::to_string(i));
    replicas_[i].process->signal(SIGTERM);
    replicas_[i].down = true;
    later(lease_times(1, 2), [this, i] {
      if (replicas_[i].process->wait_for(5s) == std::nullopt) replicas_[i].process->kill_now();
      start_sidecar(i);
    });
  } else if (fault == "token-rotation") {
    // As the kubelet rotates a projected token: the new one is valid first, the file is swapped,
    // and the old one is revoked once the sidecars had time to pick the file up.
    const std::string fresh = "chaos-token-" + std::to_string(++token_serial_);
    post_tokens({{"token", fresh}, {"user", "sidecar"}});
    tokens_.push_back(fresh);
    write_tokens();
    write_atomically(dir_ / "token", fresh + "\n");
    later(lease_times(1, 2), [this, fresh] {
      while (tokens_.size() > 1 && tokens_.front() != fresh) {
        post_tokens({{"revoke", tokens_.front()}});
        tokens_.erase(tokens_.begin());
      }
      write_tokens();
    });
  } else if (fault == "apiserver-restart") {
    apiserver_->signal(SIGTERM);
    if (apiserver_->wait_for(5s) == std::nullopt) apiserver_->kill_now();
    const auto down_for = lease_times(0, 1.5);
    api_fault_window(steady_clock::now() + down_for + 500ms);
    later(down_for, [this] { start_apiserver(); });
  } else {
    nlohmann::json faults;
    milliseconds lasts = lease_times(0.5, 2);
    if (fault == "latency-spike") {
      // Longer than the renew deadline: the leader must step down in time, not hang on.
      faults["latencyMs"] = (o_.renew_deadline + milliseconds{static_cast<int>(uniform(50, 500))}).count();
      lasts = lease_times(1, 2.5);
    } else if (fault == "5xx-burst") {
      faults["errorRate"] = uniform(0.5, 1);
      faults["errorStatus"] = uniform(0, 1) < 0.5 ? 500 : 503;
      faults["retryAfterSeconds"] = uniform(0, 1) < 0.5 ? 0 : 1;
    } else if (fault == "dropped-connections") {
      faults["dropRate"] = uniform(0.3, 1);
    } else {
      faults["conflictRate"] = uniform(0.5, 1);
    }
    set_faults(faults);
    api_fault_window(steady_clock::now() + lasts);
    later(lasts, [this] { set_faults(nlohmann::json::object()); });
  }
}

void Chaos::collect_terms() {
  static const std::regex term(R"(leadership-term \w+ start_boot_ns=(\d+) valid_until_boot_ns=(\d+))");
  for (std::size_t i = 0; i < replicas_.size(); ++i) {
    for (const auto& log : replicas_[i].logs) {
      std::map<Nanos, Nanos> terms;  // start -> last end logged
      const std::string text = read_text(log);
      if (text.find("chaos-token-") != std::string::npos) {
        ++token_leaks_;
        std::cerr << "chaos: a bearer token appears in " << log << "\n";
      }
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, term)) terms[std::stoll(m[1])] = std::stoll(m[2]);
      }
      for (const auto& [start, end] : terms) history_.terms.push_back({static_cast<int>(i), start, end});
    }
  }
}

int Chaos::run() {
  last_answer_.assign(replicas_.size(), std::nullopt);
  std::vector<std::thread> observers;
  for (std::size_t i = 0; i < replicas_.size(); ++i) observers.emplace_back([this, i] { observe(i); });
  const auto start = steady_clock::now();
  started_ = start;
  const auto end = start + o_.duration;
  {
    std::lock_guard lock(mutex_);
    history_.begin_wall = wall_ns();
  }
  // The first election is not a fault's: give it one lease duration before faults begin.
  auto next_fault = start + o_.lease_duration * 2;
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
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      auto& r = replicas_[i];
      if (!r.down && !r.process->running()) {
        ++unexpected_exits_;
        std::cerr << "chaos: replica-" << i << " exited on its own; its log ends:\n"
                  << r.process->log().substr(r.process->log().size() > 2000 ? r.process->log().size() - 2000
                                                                            : 0)
                  << "\n";
        start_sidecar(i);
      }
    }
    if (now >= next_fault && now < end - o_.lease_duration * 3) {
      inject();
      // Quiet stretches between faults, so leadership is also judged with a healthy API server.
      next_fault = now + lease_times(0.5, 3);
    }
    std::this_thread::sleep_for(5ms);
  }
  // Undo every fault, then stop the replicas the way Kubernetes would (SIGTERM, a hand-over).
  set_faults(nlohmann::json::object());
  for (auto& r : replicas_) {
    if (r.stopped) r.process->signal(SIGCONT);
  }
  if (!apiserver_->running()) start_apiserver();
  observing_ = false;
  for (auto& t : observers) t.join();
  {
    std::lock_guard lock(mutex_);
    history_.end_wall = wall_ns();
  }
  for (auto& r : replicas_) r.process->signal(SIGTERM);
  for (auto& r : replicas_) {
    if (r.process->wait_for(5s) == std::nullopt) r.process->kill_now();
  }
  apiserver_.reset();
  collect_terms();
  // The first election (a create, then a wait before leading) is not a fault's gap: the history
  // is judged from the first leader on.
  Nanos first_leader = history_.end_wall;
  for (const auto& s : history_.samples) {
    if (s.is_leader) first_leader = std::min(first_leader, s.sent_wall);
  }
  history_.begin_wall = std::max(history_.begin_wall, first_leader);

  le::chaos::CheckOptions check_options;
  const auto bound = o_.gap_bound.value_or(o_.lease_duration + 2 * polling() + 2 * o_.sample_interval);
  check_options.gap_bound = duration_cast<nanoseconds>(bound).count();
  const auto report = le::chaos::check(history_, check_options);
  for (const auto& detail : report.details) std::cerr << "chaos: " << detail << "\n";
  std::string faults;
  for (const auto& [name, count] : injected_) faults += " " + name + "=" + std::to_string(count);
  std::cout << report.summary_line() << " samples=" << history_.samples.size()
            << " terms=" << history_.terms.size() << " unexpected_exits=" << unexpected_exits_
            << " token_leaks=" << token_leaks_ << " duration_s=" << o_.duration.count()
            << " replicas=" << o_.replicas << " seed=" << o_.seed << " faults:" << faults << std::endl;
  if (o_.keep) std::cerr << "chaos: logs kept in " << dir_.string() << "\n";
  const bool failed = report.split_brains() > 0 || unexpected_exits_ > 0 || token_leaks_ > 0 ||
                      history_.terms.empty() || (o_.strict_gap && report.gaps_over_bound > 0);
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
