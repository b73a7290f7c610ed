#include "checker.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace le::chaos {
namespace {

constexpr std::size_t kMaxDetails = 10;

void note(Report& report, std::string text) {
  if (report.details.size() < kMaxDetails) report.details.push_back(std::move(text));
}

double ms(Nanos n) { return static_cast<double>(n) / 1e6; }

// Sorted, merged union of windows.
std::vector<Window> merge(std::vector<Window> windows) {
  std::sort(windows.begin(), windows.end(),
            [](const Window& a, const Window& b) { return a.begin < b.begin; });
  std::vector<Window> out;
  for (const auto& w : windows) {
    if (w.end <= w.begin) continue;
    if (!out.empty() && w.begin <= out.back().end) {
      out.back().end = std::max(out.back().end, w.end);
    } else {
      out.push_back(w);
    }
  }
  return out;
}

// The parts of [begin, end) outside every window of `holes` (merged).
std::vector<Window> subtract(Window span, const std::vector<Window>& holes) {
  std::vector<Window> out;
  Nanos at = span.begin;
  for (const auto& h : holes) {
    if (h.end <= at) continue;
    if (h.begin >= span.end) break;
    if (h.begin > at) out.push_back({at, std::min(h.begin, span.end)});
    at = std::max(at, h.end);
    if (at >= span.end) break;
  }
  if (at < span.end) out.push_back({at, span.end});
  return out;
}

Nanos overlap_length(const std::vector<Window>& a, const std::vector<Window>& b) {
  Nanos total = 0;
  std::size_t j = 0;
  for (const auto& w : a) {
    while (j < b.size() && b[j].end <= w.begin) ++j;
    for (std::size_t k = j; k < b.size() && b[k].begin < w.end; ++k) {
      total += std::min(w.end, b[k].end) - std::max(w.begin, b[k].begin);
    }
  }
  return total;
}

void check_samples(std::vector<Sample>& samples, Report& report) {
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.sent_wall < b.sent_wall; });
  // For each replica, the furthest promise (validUntil) among its true samples sent so far.
  std::map<int, Nanos> promised;
  std::map<int, bool> in_incident;
  for (const auto& s : samples) {
    if (!s.is_leader) {
      in_incident[s.replica] = false;
      continue;
    }
    if (s.valid_until_wall != 0 && s.valid_until_wall <= s.sent_wall) {
      ++report.bogus_claims;
      note(report, "replica-" + std::to_string(s.replica) + " answered isLeader=true with a validUntil " +
                       std::to_string(ms(s.sent_wall - s.valid_until_wall)) + " ms before it was asked");
    }
    bool conflict = false;
    for (const auto& [other, until] : promised) {
      if (other == s.replica || s.sent_wall >= until) continue;
      conflict = true;
      if (!in_incident[s.replica]) {
        note(report, "replica-" + std::to_string(s.replica) + " said isLeader=true to a request sent " +
                         std::to_string(ms(until - s.sent_wall)) + " ms before replica-" +
                         std::to_string(other) + "'s promised validUntil");
      }
    }
    // One incident per stretch of consecutive conflicting answers of a replica.
    if (conflict && !in_incident[s.replica]) ++report.sample_conflicts;
    in_incident[s.replica] = conflict;
    if (s.valid_until_wall != 0) promised[s.replica] = std::max(promised[s.replica], s.valid_until_wall);
  }
}

void check_terms(std::vector<Term>& terms, Report& report) {
  std::sort(terms.begin(), terms.end(),
            [](const Term& a, const Term& b) { return a.start_boot < b.start_boot; });
  // Each term against every earlier term of another replica still open at its start.
  for (std::size_t i = 0; i < terms.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (terms[j].replica == terms[i].replica || terms[j].end_boot <= terms[i].start_boot) continue;
      ++report.term_overlaps;
      note(report,
           "self-logged terms overlap by " +
               std::to_string(ms(std::min(terms[j].end_boot, terms[i].end_boot) - terms[i].start_boot)) +
               " ms: replica-" + std::to_string(terms[j].replica) + " and replica-" +
               std::to_string(terms[i].replica));
    }
  }
}

// Who led when, as the outside saw it: each true sample covers [sent, validUntil), cut short by
// the replica's next false answer.
std::vector<Window> leadership_cover(const std::vector<Sample>& sorted_samples) {
  std::map<int, std::vector<const Sample*>> per_replica;
  for (const auto& s : sorted_samples) per_replica[s.replica].push_back(&s);
  std::vector<Window> cover;
  for (const auto& [replica, list] : per_replica) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Sample& s = *list[i];
      if (!s.is_leader || s.valid_until_wall == 0) continue;
      Nanos end = s.valid_until_wall;
      for (std::size_t k = i + 1; k < list.size() && list[k]->sent_wall < end; ++k) {
        if (!list[k]->is_leader) {
          end = list[k]->sent_wall;
          break;
        }
      }
      cover.push_back({s.sent_wall, end});
    }
  }
  return merge(std::move(cover));
}

// Every term after the Lease's first is a transition, blamed on the most recent fault that began
// before it (or on none, when that fault was over for longer than the attribution window).
void count_transitions(const std::vector<Term>& sorted_terms, std::vector<FaultMark> faults, Nanos end_boot,
                       Nanos attribution_window, Report& report) {
  std::sort(faults.begin(), faults.end(),
            [](const FaultMark& a, const FaultMark& b) { return a.begin_boot < b.begin_boot; });
  const Term* previous = nullptr;
  for (const auto& term : sorted_terms) {
    if (end_boot != 0 && term.start_boot >= end_boot) break;
    if (previous != nullptr) {
      ++report.transitions;
      if (term.replica != previous->replica) ++report.leader_changes;
      Cause cause = Cause::none;
      const auto after =
          std::upper_bound(faults.begin(), faults.end(), term.start_boot,
                           [](Nanos start, const FaultMark& fault) { return start < fault.begin_boot; });
      if (after != faults.begin()) {
        const FaultMark& fault = *std::prev(after);
        const bool too_late =
            attribution_window > 0 &&
            term.start_boot > std::max(fault.end_boot, fault.begin_boot) + attribution_window;
        if (!too_late) cause = fault.cause;
      }
      ++report.by_cause[static_cast<std::size_t>(cause)];
    }
    previous = &term;
  }
}

bool begins_in(const Window& gap, const std::vector<Window>& windows) {
  return std::any_of(windows.begin(), windows.end(),
                     [&](const Window& w) { return w.begin <= gap.begin && gap.begin < w.end; });
}

}  // namespace

Report check(History history, const CheckOptions& options) {
  Report report;
  report.leases = 1;
  report.gap_bound = options.gap_bound;
  report.holdoff_gap_bound = std::max(options.holdoff_gap_bound, options.gap_bound);
  check_samples(history.samples, report);  // sorts the samples by send time
  check_terms(history.terms, report);      // sorts the terms by start
  count_transitions(history.terms, std::move(history.faults), history.end_boot, options.attribution_window,
                    report);

  const auto unhealthy = merge(history.api_unhealthy);
  const auto healthy = subtract({history.begin_wall, history.end_wall}, unhealthy);
  const auto cover = leadership_cover(history.samples);
  Nanos healthy_total = 0;
  for (const auto& w : healthy) healthy_total += w.end - w.begin;
  report.healthy_time = healthy_total;
  report.led_time = overlap_length(healthy, cover);
  report.availability =
      healthy_total > 0 ? static_cast<double>(report.led_time) / static_cast<double>(healthy_total) : 0;
  const auto holdoff = merge(history.holdoff);

  // Leaderless stretches that lie wholly in healthy time (one that touches a fault window is the
  // fault's, not the election's). The stretch before the first leader counts too.
  const auto gaps = subtract({history.begin_wall, history.end_wall}, cover);
  for (const auto& gap : gaps) {
    const bool touches_fault = std::any_of(unhealthy.begin(), unhealthy.end(), [&](const Window& u) {
      return u.begin < gap.end && gap.begin < u.end;
    });
    if (touches_fault) continue;
    const Nanos length = gap.end - gap.begin;
    const bool after_rewrite = begins_in(gap, holdoff);
    const Nanos bound = after_rewrite ? report.holdoff_gap_bound : options.gap_bound;
    // A stretch cut off by the end of the run is not over; it is judged only if already too long.
    if (gap.end == history.end_wall && length <= bound) continue;
    Nanos& worst = after_rewrite ? report.worst_holdoff_gap : report.worst_gap;
    worst = std::max(worst, length);
    if (bound > 0 && length > bound) {
      ++report.gaps_over_bound;
      note(report, "leaderless for " + std::to_string(ms(length)) + " ms while the API server was healthy" +
                       (after_rewrite ? " (after the Lease was rewritten)" : "") + ", from " +
                       std::to_string(ms(gap.begin - history.begin_wall) / 1000) + " s into the run");
    }
  }
  return report;
}

const char* cause_name(Cause cause) {
  switch (cause) {
    case Cause::sigterm:
      return "sigterm";
    case Cause::sigkill:
      return "sigkill";
    case Cause::sigstop:
      return "sigstop";
    case Cause::partition:
      return "partition";
    case Cause::latency:
      return "latency";
    case Cause::delete_recreate:
      return "delete-recreate";
    case Cause::reset:
      return "reset";
    case Cause::server_error:
      return "5xx";
    case Cause::conflict_storm:
      return "409-storm";
    case Cause::token_rotation:
      return "token-rotation";
    case Cause::apiserver_restart:
      return "apiserver-restart";
    case Cause::none:
      return "none";
  }
  return "?";
}

bool is_expiry(Cause cause) {
  return cause == Cause::sigkill || cause == Cause::sigstop || cause == Cause::partition ||
         cause == Cause::latency;
}

bool is_lease_rewrite(Cause cause) { return cause == Cause::delete_recreate || cause == Cause::reset; }

int Report::after_expiry() const {
  int n = 0;
  for (std::size_t c = 0; c < kCauseCount; ++c) n += is_expiry(static_cast<Cause>(c)) ? by_cause[c] : 0;
  return n;
}

int Report::after_lease_rewrite() const {
  int n = 0;
  for (std::size_t c = 0; c < kCauseCount; ++c)
    n += is_lease_rewrite(static_cast<Cause>(c)) ? by_cause[c] : 0;
  return n;
}

void Report::add(const Report& other, const std::string& label) {
  transitions += other.transitions;
  leader_changes += other.leader_changes;
  for (std::size_t c = 0; c < kCauseCount; ++c) by_cause[c] += other.by_cause[c];
  sample_conflicts += other.sample_conflicts;
  term_overlaps += other.term_overlaps;
  bogus_claims += other.bogus_claims;
  healthy_time += other.healthy_time;
  led_time += other.led_time;
  availability = healthy_time > 0 ? static_cast<double>(led_time) / static_cast<double>(healthy_time) : 0;
  worst_gap = std::max(worst_gap, other.worst_gap);
  gap_bound = std::max(gap_bound, other.gap_bound);
  worst_holdoff_gap = std::max(worst_holdoff_gap, other.worst_holdoff_gap);
  holdoff_gap_bound = std::max(holdoff_gap_bound, other.holdoff_gap_bound);
  gaps_over_bound += other.gaps_over_bound;
  leases += other.leases;
  for (const auto& detail : other.details) note(*this, label + ": " + detail);
}

std::string scale_shortfall(const Report& report, const ScaleRule& rule) {
  std::string lacks;
  const auto need = [&](const char* name, int have, int want) {
    if (have >= want) return;
    lacks += (lacks.empty() ? "" : " ") + std::string(name) + " " + std::to_string(have) + "<" +
             std::to_string(want);
  };
  need("transitions", report.transitions, rule.transitions);
  need("after_expiry", report.after_expiry(), rule.after_expiry);
  need("after_lease_rewrite", report.after_lease_rewrite(), rule.after_lease_rewrite);
  return lacks;
}

std::string Report::summary_line() const {
  char line[512];
  std::snprintf(line, sizeof line,
                "chaos: transitions=%d leader_changes=%d split_brains=%d (samples=%d terms=%d bogus=%d) "
                "availability=%.4f worst_gap_ms=%.1f gap_bound_ms=%.1f worst_holdoff_gap_ms=%.1f "
                "holdoff_gap_bound_ms=%.1f gaps_over_bound=%d after_expiry=%d after_lease_rewrite=%d",
                transitions, leader_changes, split_brains(), sample_conflicts, term_overlaps, bogus_claims,
                availability, ms(worst_gap), ms(gap_bound), ms(worst_holdoff_gap), ms(holdoff_gap_bound),
                gaps_over_bound, after_expiry(), after_lease_rewrite());
  std::string out = line;
  out += " by_cause=(";
  for (std::size_t c = 0; c < kCauseCount; ++c) {
    out += (c == 0 ? "" : " ") + std::string(cause_name(static_cast<Cause>(c))) + "=" +
           std::to_string(by_cause[c]);
  }
  return out + ")";
}

}  // namespace le::chaos
