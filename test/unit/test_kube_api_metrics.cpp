// The API client's metrics: client-go's rest_client_* names, the watch restarts and the clock
// offset from the Date header.
#include <doctest/doctest.h>

#include "kube/api_metrics.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::kube::ApiMetrics;
using le::kube::parse_http_date;

namespace {

std::string text_of(const ApiMetrics& metrics) {
  le::util::MetricsText text;
  metrics.write(text, "my-lease");
  return text.text();
}

bool contains(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("requests by code, method and host, with client-go's <error> for no answer") {
  ApiMetrics metrics("10.0.0.1:6443");
  metrics.count_request("PUT", 200, 3ms);
  metrics.count_request("PUT", 200, 30ms);
  metrics.count_request("PUT", 409, 2ms);
  metrics.count_request("GET", 0, 5s);
  metrics.count_request("GET", 200, std::nullopt);  // a watch opened
  metrics.count_request("PROPFIND", 405, 1ms);
  const auto text = text_of(metrics);
  CHECK(contains(text, R"(rest_client_requests_total{code="200",host="10.0.0.1:6443",method="PUT"} 2)"));
  CHECK(contains(text, R"(rest_client_requests_total{code="409",host="10.0.0.1:6443",method="PUT"} 1)"));
  CHECK(contains(text, R"(rest_client_requests_total{code="<error>",host="10.0.0.1:6443",method="GET"} 1)"));
  CHECK(contains(text, R"(rest_client_requests_total{code="200",host="10.0.0.1:6443",method="GET"} 1)"));
  CHECK(contains(text, R"(rest_client_requests_total{code="405",host="10.0.0.1:6443",method="other"} 1)"));
  // client-go's buckets; the watch has no latency.
  CHECK(contains(
      text, R"(rest_client_request_duration_seconds_bucket{host="10.0.0.1:6443",verb="PUT",le="0.005"} 2)"));
  CHECK(contains(
      text, R"(rest_client_request_duration_seconds_bucket{host="10.0.0.1:6443",verb="PUT",le="0.025"} 2)"));
  CHECK(contains(
      text, R"(rest_client_request_duration_seconds_bucket{host="10.0.0.1:6443",verb="PUT",le="60"} 3)"));
  CHECK(contains(text, R"(rest_client_request_duration_seconds_count{host="10.0.0.1:6443",verb="PUT"} 3)"));
  CHECK(contains(text, R"(rest_client_request_duration_seconds_count{host="10.0.0.1:6443",verb="GET"} 1)"));
  CHECK(text.find("verb=\"POST\"") == std::string::npos);  // nothing sent, no series
}

TEST_CASE("watch restarts by reason") {
  ApiMetrics metrics("h:1");
  metrics.count_watch_restart(le::kube::WatchRestart::timeout);
  metrics.count_watch_restart(le::kube::WatchRestart::expired);
  metrics.count_watch_restart(le::kube::WatchRestart::expired);
  const auto text = text_of(metrics);
  CHECK(contains(text, R"(lease_elector_watch_restarts_total{lease="my-lease",reason="timeout"} 1)"));
  CHECK(contains(text, R"(lease_elector_watch_restarts_total{lease="my-lease",reason="expired"} 2)"));
  CHECK(contains(text, R"(lease_elector_watch_restarts_total{lease="my-lease",reason="error"} 0)"));
}

TEST_CASE("HTTP dates: IMF-fixdate only") {
  const auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(t);
  CHECK(duration_cast<seconds>(t->time_since_epoch()).count() == 784111777);
  CHECK(parse_http_date("Thu, 03 Dec 2026 22:03:26 GMT"));
  CHECK_FALSE(parse_http_date(""));
  CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));  // RFC 850: obsolete
  CHECK_FALSE(parse_http_date("Sun Nov  6 08:49:37 1994"));        // asctime: obsolete
  CHECK_FALSE(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"));   // no such day
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Xyz 1994 08:49:37 GMT"));
  CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
}

TEST_CASE("the clock offset compares the middle of the server's second with the middle of the round trip") {
  ApiMetrics metrics("h:1");
  CHECK_FALSE(metrics.clock_offset_seconds());
  CHECK(text_of(metrics).find("clock_offset") == std::string::npos);  // unknown: no series
  const auto date = *parse_http_date("Thu, 03 Dec 2026 22:00:00 GMT");
  // Same clocks: sent at .2, answered at .4 → round-trip middle .3; the server's second middle .5.
  metrics.observe_server_date("Thu, 03 Dec 2026 22:00:00 GMT", date + 200ms, date + 400ms);
  CHECK(*metrics.clock_offset_seconds() == doctest::Approx(0.2));
  // Our clock 10 s ahead of the server's.
  metrics.observe_server_date("Thu, 03 Dec 2026 22:00:00 GMT", date + 10s + 400ms, date + 10s + 600ms);
  CHECK(*metrics.clock_offset_seconds() == doctest::Approx(-10.0));
  CHECK(contains(text_of(metrics), R"(lease_elector_apiserver_clock_offset_seconds{host="h:1"} -10)"));
  // A header that is not a date changes nothing.
  metrics.observe_server_date("yesterday", date, date);
  CHECK(*metrics.clock_offset_seconds() == doctest::Approx(-10.0));
}

TEST_CASE("the host label is the URL's host:port") {
  CHECK(le::kube::url_host("https://10.0.0.1:6443") == "10.0.0.1:6443");
  CHECK(le::kube::url_host("https://kubernetes.default.svc/") == "kubernetes.default.svc");
  CHECK(le::kube::url_host("http://127.0.0.1:38211/api") == "127.0.0.1:38211");
}
