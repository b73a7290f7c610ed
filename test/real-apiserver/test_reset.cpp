// The Lease taken from under a live leader on a real kube-apiserver (issue 10, part 6): reset in
// place (`kubectl replace` of `spec: {}`: same object, the record blanked) and deleted and created
// again empty (`kubectl replace --force`: a new uid). Either leaves a free record that no holder
// released, while the leader it was taken from may go on leading until its own renew deadline; the
// replicas must wait a lease duration from when each saw the change before taking it (README,
// "Safety"). Three sidecars, five injections of each kind spread over the leader's renewal cycle, in
// both takeover modes. Judged by the terms the sidecars log on CLOCK_BOOTTIME (the chaos suite's
// checker): no two replicas' terms overlap, and after every injection a new term began.
#include <doctest/doctest.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "checker.h"
#include "real_control_plane.h"
#include "util/micro_time.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::chaos::Nanos;
using le::testing::Elector;
using le::testing::ElectorTimings;
using le::testing::LeaderSampler;
using le::testing::LeaseAdmin;

namespace {

const ElectorTimings kTimings{"2s", "1s", "200ms"};
constexpr milliseconds kRetryPeriod{200};
// Where in the leader's renewal cycle each injection lands: this fraction of the retry period after
// the renewTime of its last renewal. At 0 the leader has just renewed and counts itself leader for
// nearly a whole renew deadline; near the end its next renewal (or, polling, its read) is close.
constexpr std::array kCyclePoints{0.0, 0.2, 0.4, 0.6, 0.8};
constexpr int kReplicas = 3;

enum class Injection { reset_in_place, recreate_empty };

const char* describe(Injection kind) {
  return kind == Injection::reset_in_place ? "reset in place" : "deleted and re-created empty";
}

// The clock the sidecars log their terms on (sidecar/election/leadership_log.h).
Nanos boot_now() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return Nanos{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void record_measurement(const std::string& line) {
  MESSAGE(line);
  const auto& plane = le::testing::real_control_plane_or_skip();
  if (!plane.dir.empty()) std::ofstream(plane.dir + "/measurements.txt", std::ios::app) << line << "\n";
}

std::string text_of(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The terms a replica logged: each term's start with the last end it logged.
std::vector<le::chaos::Term> logged_terms(int replica, const std::string& log_path) {
  static const std::regex line(R"(leadership-term \w+ start_boot_ns=(\d+) valid_until_boot_ns=(\d+))");
  std::map<Nanos, Nanos> ends;
  std::istringstream in(text_of(log_path));
  for (std::string text; std::getline(in, text);) {
    std::smatch m;
    if (std::regex_search(text, m, line)) ends[std::stoll(m[1])] = std::stoll(m[2]);
  }
  std::vector<le::chaos::Term> terms;
  for (const auto& [start, end] : ends) terms.push_back({replica, start, end});
  return terms;
}

struct Injected {
  Injection kind = Injection::reset_in_place;
  double cycle_point = 0;
  milliseconds after_renewal{};  // measured: from the leader's renewTime to the injection's first write
  int conflicts = 0;             // resets refused because the leader renewed first (tried again)
  Nanos boot = 0;                // the injection's first write, on CLOCK_BOOTTIME
  steady_clock::time_point at;
  milliseconds leader_back{};  // to the first isLeader of a term begun since (the /leader samples)
  std::string new_leader;
};

class ResetUnderLeader {
 public:
  explicit ResetUnderLeader(bool poll) : mode_(poll ? "--takeover poll" : "watch") {
    lease_ = std::string("reset-") + (poll ? "poll-" : "watch-") + std::to_string(::getpid());
    admin_.remove(lease_);
    std::vector<std::string> extra{"--log-level", "debug"};  // the leadership-term lines
    if (poll) extra.insert(extra.end(), {"--takeover", "poll"});
    std::vector<std::string> urls;
    for (int i = 0; i < kReplicas; ++i) {
      replicas_.push_back(Elector::sidecar(LEASE_ELECTOR_BINARY, "replica-" + std::to_string(i),
                                           plane_.kubeconfig_admin, plane_.ns, lease_, kTimings, log_dir_,
                                           extra));
      urls.push_back(replicas_.back()->leader_url());
    }
    sampler_ = std::make_unique<LeaderSampler>(urls);
  }

  ~ResetUnderLeader() {
    sampler_.reset();
    replicas_.clear();  // kills any replica still running
    try {
      admin_.remove(lease_);
    } catch (...) {
    }
    std::error_code ignored;
    if (!std::getenv("LEASE_ELECTOR_KEEP_LOGS")) std::filesystem::remove_all(log_dir_, ignored);
  }

  void run() {
    const auto first = sampler_->wait_for_term_begun_after(steady_clock::now() - 1h, 30s);
    REQUIRE_MESSAGE(first, "no first leader\n" << logs());
    for (const double point : kCyclePoints) {
      for (const Injection kind : {Injection::reset_in_place, Injection::recreate_empty}) inject(kind, point);
    }
    stop_all();
    judge();
  }

 private:
  // Reads the Lease until its leader renews (renewTime moves); returns it as read then.
  nlohmann::json wait_for_renewal() {
    const auto until = steady_clock::now() + 20s;
    std::string before;
    for (bool first = true; steady_clock::now() < until; first = false) {
      auto lease = admin_.read(lease_);
      const auto& spec = lease.is_null() ? nlohmann::json::object() : lease["spec"];
      const std::string holder = spec.value("holderIdentity", "");
      const std::string renewed = spec.value("renewTime", "");
      if (!first && !holder.empty() && !renewed.empty() && renewed != before) return lease;
      before = renewed;
      std::this_thread::sleep_for(2ms);
    }
    FAIL("the leader of " << lease_ << " did not renew for 20 s\n" << logs());
    return nullptr;
  }

  void inject(Injection kind, double point) {
    Injected injected;
    injected.kind = kind;
    injected.cycle_point = point;
    // A reset is conditional on the version read; when the leader renews first, the same point of
    // a later cycle is tried instead.
    for (;; ++injected.conflicts) {
      REQUIRE(injected.conflicts < 20);
      const auto lease = wait_for_renewal();
      const auto renewed = le::util::parse_micro_time(lease["spec"]["renewTime"].get<std::string>());
      REQUIRE(renewed);
      std::this_thread::sleep_until(*renewed + duration_cast<microseconds>(kRetryPeriod * point));
      injected.after_renewal = duration_cast<milliseconds>(system_clock::now() - *renewed);
      injected.boot = boot_now();
      injected.at = steady_clock::now();
      if (kind == Injection::recreate_empty) {
        admin_.recreate_empty(lease_);
        break;
      }
      if (admin_.reset_in_place(lease_, lease)) break;
    }
    const auto back = sampler_->wait_for_term_begun_after(injected.at, 20s);
    REQUIRE_MESSAGE(back, "no leader after the Lease was " << describe(kind) << "\n" << logs());
    injected.leader_back = duration_cast<milliseconds>(back->second - injected.at);
    injected.new_leader = replicas_[back->first]->identity();
    injections_.push_back(injected);
  }

  void stop_all() {
    for (auto& replica : replicas_) replica->process().signal(SIGTERM);
    for (auto& replica : replicas_) {
      CHECK_MESSAGE(replica->process().wait_for(10s) == 0, replica->identity() << " did not exit cleanly\n"
                                                                               << replica->process().log());
    }
  }

  void judge() {
    le::chaos::History history;
    for (int i = 0; i < kReplicas; ++i) {
      const auto terms = logged_terms(i, replicas_[i]->process().log_path());
      history.terms.insert(history.terms.end(), terms.begin(), terms.end());
    }
    const auto report = le::chaos::check(history, {});
    std::string details;
    for (const auto& detail : report.details) details += "  " + detail + "\n";
    CHECK_MESSAGE(report.term_overlaps == 0, mode_ << ": two replicas led at once\n" << details << logs());
    // The outside view too, from the /leader samples.
    CHECK_MESSAGE(sampler_->proven_overlaps() == 0, sampler_->overlap_report());

    // Leadership resumed after every injection: a term whose first write was sent after it (and
    // before the next one), by the logs as by the samples.
    for (std::size_t k = 0; k < injections_.size(); ++k) {
      const Injected& injected = injections_[k];
      const Nanos next = k + 1 < injections_.size() ? injections_[k + 1].boot : boot_now();
      std::optional<Nanos> began;
      for (const auto& term : history.terms) {
        if (term.start_boot > injected.boot && term.start_boot < next && (!began || term.start_boot < *began))
          began = term.start_boot;
      }
      CHECK_MESSAGE(began, mode_ << ": no term began after the Lease was " << describe(injected.kind)
                                 << " at " << injected.cycle_point * 100 << " % of the renewal cycle");
      char line[400];
      std::snprintf(
          line, sizeof line,
          "reset under a leader (%s): %s %3.0f ms after a renewal (%.0f %% of the cycle%s): "
          "%s leads %lld ms later (its first write %.0f ms after the injection)",
          mode_.c_str(), describe(injected.kind), static_cast<double>(injected.after_renewal.count()),
          injected.cycle_point * 100,
          injected.conflicts ? (", " + std::to_string(injected.conflicts) + " conflict(s)").c_str() : "",
          injected.new_leader.c_str(), static_cast<long long>(injected.leader_back.count()),
          began ? static_cast<double>(*began - injected.boot) / 1e6 : -1.0);
      record_measurement(line);
    }
  }

  // The sidecars' logs without their debug lines (a few per renewal), the last of them each.
  std::string logs() const {
    std::string text;
    for (const auto& replica : replicas_) {
      std::vector<std::string> lines;
      std::istringstream in(replica->process().log());
      for (std::string line; std::getline(in, line);) {
        if (line.find("[debug]") == std::string::npos) lines.push_back(line);
      }
      text += "--- " + replica->identity() + " (" + replica->process().log_path() + "):\n";
      for (std::size_t i = lines.size() > 40 ? lines.size() - 40 : 0; i < lines.size(); ++i)
        text += lines[i] + "\n";
    }
    return text;
  }

  const le::testing::RealControlPlane& plane_ = le::testing::real_control_plane_or_skip();
  LeaseAdmin admin_{plane_};
  std::string mode_;
  std::string lease_;
  std::string log_dir_ = le::testing::make_temp_dir("reset");
  std::vector<std::unique_ptr<Elector>> replicas_;
  std::unique_ptr<LeaderSampler> sampler_;
  std::vector<Injected> injections_;
};

}  // namespace

TEST_CASE("reset under a leader on kube-apiserver: reset in place and re-created empty, watch takeover") {
  ResetUnderLeader(false).run();
}

TEST_CASE("reset under a leader on kube-apiserver: reset in place and re-created empty, --takeover poll") {
  ResetUnderLeader(true).run();
}
