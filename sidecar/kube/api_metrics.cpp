#include "kube/api_metrics.h"

#include <utility>

namespace le::kube {

using namespace std::chrono;

namespace {

template <std::size_t... I>
std::array<util::Histogram, sizeof...(I)> make_histograms(std::index_sequence<I...>) {
  return {((void)I, util::Histogram(util::request_duration_buckets()))...};
}

bool parse_digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

ApiMetrics::ApiMetrics(std::string host)
    : host_(std::move(host)), durations_(make_histograms(std::make_index_sequence<kMethods.size()>{})) {}

std::size_t ApiMetrics::method_index(std::string_view method) {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (kMethods[i] == method) return i;
  }
  return kMethods.size() - 1;
}

void ApiMetrics::count_request(std::string_view method, int status, std::optional<nanoseconds> duration) {
  const std::size_t m = method_index(method);
  const std::size_t slot = status >= kFirstStatus && status <= kLastStatus
                               ? static_cast<std::size_t>(status - kFirstStatus + 1)
                               : 0;
  requests_[m][slot].add();
  if (duration) durations_[m].observe(*duration);
}

void ApiMetrics::observe_server_date(std::string_view date_header, system_clock::time_point sent,
                                     system_clock::time_point received) {
  const auto server_time = parse_http_date(date_header);
  if (!server_time) return;
  // The server wrote the header somewhere between our send and receive, and truncated it to the
  // second: its true time then was within [date, date + 1s). Compare the middle of that second with
  // the middle of our round trip: the estimate is good to about ±(0.5 s + half the round trip).
  const auto local_mid = sent + (received - sent) / 2;
  const auto server_mid = *server_time + milliseconds{500};
  clock_offset_.set(duration<double>(server_mid - local_mid).count());
}

void ApiMetrics::write(util::MetricsText& out, std::string_view lease_name) const {
  using Type = util::MetricsText::Type;
  out.family("rest_client_requests_total", Type::counter,
             "Number of HTTP requests, partitioned by status code, method, and host.");
  for (std::size_t m = 0; m < kMethods.size(); ++m) {
    for (std::size_t slot = 0; slot < kSlots; ++slot) {
      const auto count = requests_[m][slot].value();
      if (count == 0) continue;
      const std::string code =
          slot == 0 ? "<error>" : std::to_string(static_cast<int>(slot) + kFirstStatus - 1);
      out.sample("rest_client_requests_total", {{"code", code}, {"host", host_}, {"method", kMethods[m]}},
                 static_cast<double>(count));
    }
  }
  out.family("rest_client_request_duration_seconds", Type::histogram,
             "Request latency in seconds. Broken down by verb, and host.");
  for (std::size_t m = 0; m < kMethods.size(); ++m) {
    const auto reading = durations_[m].read();
    std::uint64_t total = 0;
    for (const auto count : reading.bucket_counts) total += count;
    if (total == 0) continue;
    out.histogram("rest_client_request_duration_seconds", {{"host", host_}, {"verb", kMethods[m]}},
                  durations_[m].upper_bounds(), reading.bucket_counts, reading.sum_seconds);
  }

  out.family("lease_elector_watch_restarts_total", Type::counter,
             "Times the Lease watch ended and was opened again, by reason: timeout (the server's usual "
             "end of a stream), expired (410: the Lease was read again), error (the stream failed; "
             "the election polls until it is back).");
  constexpr std::string_view reasons[] = {"timeout", "expired", "error"};
  for (int i = 0; i < 3; ++i) {
    out.sample("lease_elector_watch_restarts_total", {{"lease", lease_name}, {"reason", reasons[i]}},
               static_cast<double>(watch_restarts_[i].value()));
  }

  if (const auto offset = clock_offset_.value()) {
    out.family("lease_elector_apiserver_clock_offset_seconds", Type::gauge,
               "The API server's clock minus ours, from the Date header of its last answer. The header "
               "has one-second resolution: the figure is good to about half a second plus half a round "
               "trip, so only an offset beyond 2 s means the clocks disagree.");
    out.sample("lease_elector_apiserver_clock_offset_seconds", {{"host", host_}}, *offset);
  }
}

std::optional<system_clock::time_point> parse_http_date(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!parse_digits(text, 5, 2, day) || !parse_digits(text, 12, 4, year) ||
      !parse_digits(text, 17, 2, hour) || !parse_digits(text, 20, 2, minute) ||
      !parse_digits(text, 23, 2, second)) {
    return std::nullopt;
  }
  int month = -1;
  for (int i = 0; i < 12; ++i) {
    if (text.substr(8, 3) == kMonths[i]) month = i;
  }
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month + 1)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return system_clock::time_point{sys_days{date}} + hours{hour} + minutes{minute} + seconds{second};
}

std::string url_host(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  if (const auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  if (const auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  return std::string(url);
}

}  // namespace le::kube
