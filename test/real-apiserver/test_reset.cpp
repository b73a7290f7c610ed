// The Lease taken from under a live leader on a real kube-apiserver (issue 10, part 6): reset in
// place (`kubectl replace` of `spec: {}`: same object, the record blanked) and deleted and created
// again empty (`kubectl replace --force`: a new uid). Either leaves a free record that no holder
// released, while the leader it was taken from may go on leading until its own renew deadline; the
// replicas must wait a lease duration from when each saw the change before taking it (README,
// "Safety"). Three sidecars, five injections of each kind spread over the leader's renewal cycle, in
// both takeover modes; then the same again with the leader paused across each injection, a leader
// slow to see the change (descheduled, or its watch stalled). Without the pause a watching leader
// sees the change as soon as its followers and steps down first, so only the second round shows, in
// watch mode, that the followers wait. Judged by the terms the sidecars log on CLOCK_BOOTTIME (the
// chaos suite's checker): no two replicas' terms overlap, and after every injection a new term began.
#include <doctest/doctest.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
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
// How long the leader is paused (SIGSTOP) across an injection in the second round: shorter than the
// renew deadline less the latest cycle point (1 s - 160 ms), so it resumes still counting itself
// leader and must find out then; a follower that took the Lease meanwhile would overlap it.
constexpr milliseconds kLeaderPause{300};

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
  bool leader_paused = false;
  milliseconds after_renewal{};  // measured: from the leader's renewTime to the injection's first write
  int conflicts = 0;             // resets refused because the leader renewed first (tried again)
  Nanos boot = 0;                // the injection's first write, on CLOCK_BOOTTIME
  steady_clock::time_point at;
  system_clock::time_point wall;
  milliseconds leader_back{};  // to the new holder's first isLeader (the /leader samples)
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
                                           plane_.kubeconfig_admin, plane_.ns, lease_, kTimings,
                                           log_dir_.path, extra));
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
  }

  void run() {
    const auto first = wait_for_term_acquired_after(system_clock::now(), steady_clock::now());
    REQUIRE_MESSAGE(first, "no first leader\n" << logs());
    // Should leadership not resume, the injections stop there, but the logs are still judged.
    bool resumed = true;
    for (const bool pause_leader : {false, true}) {
      for (const double point : kCyclePoints) {
        for (const Injection kind : {Injection::reset_in_place, Injection::recreate_empty}) {
          if (resumed) resumed = inject(kind, point, pause_leader);
        }
      }
    }
    stop_all();
    judge();
  }

 private:
  // Waits for a term acquired after an instant: the Lease names a holder whose acquireTime (the
  // send time of its acquiring write) is later, and that replica says isLeader after it. Returns the
  // replica and when it first said so. The /leader answers alone cannot tell: a leader paused across
  // the injection says isLeader again when it resumes, until it sees the change (rightly: no one
  // else leads before its renew deadline has passed).
  std::optional<std::pair<std::size_t, steady_clock::time_point>> wait_for_term_acquired_after(
      system_clock::time_point wall, steady_clock::time_point steady) {
    const auto until = steady_clock::now() + 20s;
    while (steady_clock::now() < until) {
      const auto lease = admin_.read(lease_);
      const auto spec =
          lease.is_object() ? lease.value("spec", nlohmann::json::object()) : nlohmann::json::object();
      const std::string holder = spec.value("holderIdentity", "");
      const auto acquired = le::util::parse_micro_time(spec.value("acquireTime", ""));
      if (!holder.empty() && acquired && *acquired >= le::util::to_micro(wall)) {
        const std::size_t index = index_of(holder);
        // The same instant on the steady clock, where the /leader samples are.
        const auto since =
            steady + duration_cast<steady_clock::duration>(*acquired - le::util::to_micro(wall));
        const auto led = sampler_->wait_until_leading(
            index, since, duration_cast<milliseconds>(until - steady_clock::now()));
        if (!led) return std::nullopt;
        return std::pair{index, *led};
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

  // Reads the Lease until its leader renews (renewTime moves); returns it as read then.
  nlohmann::json wait_for_renewal() {
    const auto until = steady_clock::now() + 20s;
    std::string before;
    for (bool first = true; steady_clock::now() < until; first = false) {
      auto lease = admin_.read(lease_);
      const auto spec =
          lease.is_object() ? lease.value("spec", nlohmann::json::object()) : nlohmann::json::object();
      const std::string holder = spec.value("holderIdentity", "");
      const std::string renewed = spec.value("renewTime", "");
      if (!first && !holder.empty() && !renewed.empty() && renewed != before) return lease;
      before = renewed;
      std::this_thread::sleep_for(2ms);
    }
    FAIL("the leader of " << lease_ << " did not renew for 20 s\n" << logs());
    return nullptr;
  }

  // False when no new term began after the injection.
  bool inject(Injection kind, double point, bool pause_leader) {
    Injected injected;
    injected.kind = kind;
    injected.cycle_point = point;
    injected.leader_paused = pause_leader;
    // A reset is conditional on the version read; when the leader renews first, the same point of
    // a later cycle is tried instead.
    for (;; ++injected.conflicts) {
      REQUIRE(injected.conflicts < 20);
      const auto lease = wait_for_renewal();
      const auto renewed = le::util::parse_micro_time(lease["spec"]["renewTime"].get<std::string>());
      REQUIRE(renewed);
      Elector& leader = *replicas_[index_of(lease["spec"]["holderIdentity"].get<std::string>())];
      std::this_thread::sleep_until(*renewed + duration_cast<microseconds>(kRetryPeriod * point));
      if (pause_leader) leader.process().signal(SIGSTOP);
      injected.after_renewal = duration_cast<milliseconds>(system_clock::now() - *renewed);
      injected.boot = boot_now();
      injected.at = steady_clock::now();
      injected.wall = system_clock::now();
      const bool applied = kind == Injection::recreate_empty ? (admin_.recreate_empty(lease_), true)
                                                             : admin_.reset_in_place(lease_, lease);
      if (pause_leader) {
        if (applied) std::this_thread::sleep_until(injected.at + kLeaderPause);
        leader.process().signal(SIGCONT);
      }
      if (applied) break;
    }
    const auto back = wait_for_term_acquired_after(injected.wall, injected.at);
    if (!back) {
      FAIL_CHECK(mode_ << ": no term began within 20 s after the Lease was " << std::string(describe(kind))
                       << (pause_leader ? ", the leader paused" : "") << "\n"
                       << logs());
      return false;
    }
    injected.leader_back = duration_cast<milliseconds>(back->second - injected.at);
    injected.new_leader = replicas_[back->first]->identity();
    injections_.push_back(injected);
    return true;
  }

  std::size_t index_of(const std::string& identity) {
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      if (replicas_[i]->identity() == identity) return i;
    }
    FAIL("the Lease is held by " << identity << ", not one of the replicas");
    throw std::logic_error("unreachable");
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
      std::ostringstream what;
      what << describe(injected.kind) << " " << injected.after_renewal.count() << " ms after a renewal ("
           << injected.cycle_point * 100 << " % of the cycle";
      if (injected.conflicts) what << ", " << injected.conflicts << " conflict(s) first";
      if (injected.leader_paused) what << ", the leader paused " << kLeaderPause.count() << " ms";
      what << ")";
      CHECK_MESSAGE(began, mode_ << ": no term began after the Lease was " << what.str());
      std::ostringstream line;
      line << "reset under a leader (" << mode_ << "): " << what.str() << ": " << injected.new_leader
           << " leads " << injected.leader_back.count() << " ms later";
      if (began)
        line << " (its first write " << (*began - injected.boot) / 1'000'000 << " ms after the injection)";
      record_measurement(line.str());
    }
  }

  // The sidecars' logs without their debug lines (a few per renewal), the last of them each.
  std::string logs() const {
    std::string text;
    for (const auto& replica : replicas_) {
      std::vector<std::string> lines;
      std::istringstream in(replica->process().log());
      for (std::string line; std::getline(in, line);) {
        if (line.find(" debug [") == std::string::npos) lines.push_back(line);
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
  le::testing::LogDir log_dir_{"reset"};
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
