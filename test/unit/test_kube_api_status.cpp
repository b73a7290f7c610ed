#include <doctest/doctest.h>

#include "kube/api_status.h"
#include "test_kube_support.h"

using le::kube::parse_retry_after;
using le::kube::parse_status_error;
using le::kube::testing::fixture;
using le::util::ApiErrorKind;
using namespace std::chrono_literals;

TEST_CASE("the API server's error Status maps to the error kind and keeps its message") {
  struct Case {
    const char* file;
    int status;
    ApiErrorKind kind;
    const char* message_part;
  };
  for (const Case& c : {
           Case{"01-get-missing.json", 404, ApiErrorKind::not_found,
                R"(leases.coordination.k8s.io "demo" not found)"},
           Case{"03-create-again.json", 409, ApiErrorKind::already_exists, "already exists"},
           Case{"06-update-stale-rv.json", 409, ApiErrorKind::conflict, "the object has been modified"},
           Case{"07-update-no-rv.json", 422, ApiErrorKind::invalid, "must be specified for an update"},
           Case{"08-invalid-duration.json", 422, ApiErrorKind::invalid, "spec.leaseDurationSeconds"},
           Case{"09-bad-microtime.json", 400, ApiErrorKind::invalid, "2006-01-02T15:04:05.000000Z07:00"},
           Case{"10-bad-json.json", 400, ApiErrorKind::invalid, "json parse error"},
           Case{"11-no-token.json", 403, ApiErrorKind::forbidden, R"(User "system:anonymous" cannot get)"},
           Case{"12-bad-token.json", 401, ApiErrorKind::unauthorized, "Unauthorized"},
           Case{"13-forbidden.json", 403, ApiErrorKind::forbidden,
                R"(User "nobody" cannot get resource "leases")"},
           Case{"14-name-mismatch.json", 400, ApiErrorKind::invalid, "does not match the name on the URL"},
           Case{"17-patch-wrong-type.json", 415, ApiErrorKind::other, "415: Unsupported Media Type"},
           Case{"18-delete.json", 403, ApiErrorKind::forbidden, "cannot delete"},
       }) {
    CAPTURE(c.file);
    const auto error = parse_status_error(c.status, fixture(c.file), std::nullopt);
    CHECK(error.kind == c.kind);
    CHECK(error.http_status == c.status);
    CHECK(error.message.find(c.message_part) != std::string::npos);
    CHECK_FALSE(error.retry_after);
  }
  CHECK(parse_status_error(409, fixture("06-update-stale-rv.json"), std::nullopt).describe() ==
        "409 Conflict: Operation cannot be fulfilled on leases.coordination.k8s.io \"demo\": the object has "
        "been "
        "modified; please apply your changes to the latest version and try again");
}

TEST_CASE("429 and 5xx carry Retry-After from the header, else from the Status details") {
  const auto throttled = parse_status_error(
      429,
      R"({"kind":"Status","message":"Too many requests, please try again later.","reason":"TooManyRequests",)"
      R"("details":{"retryAfterSeconds":1},"code":429})",
      "3");
  CHECK(throttled.kind == ApiErrorKind::too_many_requests);
  CHECK(throttled.retry_after == 3s);
  CHECK(throttled.message == "Too many requests, please try again later.");

  const auto from_details = parse_status_error(
      429, R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":2},"code":429})",
      std::nullopt);
  CHECK(from_details.retry_after == 2s);
  CHECK(from_details.message == "TooManyRequests");

  const auto unavailable = parse_status_error(503, "upstream connect error", "1");
  CHECK(unavailable.kind == ApiErrorKind::server_error);
  CHECK(unavailable.retry_after == 1s);
  CHECK(unavailable.message == "upstream connect error");

  CHECK_FALSE(parse_status_error(500, "", std::nullopt).retry_after);
  CHECK(parse_status_error(500, "", std::nullopt).message == "empty response body");
  // Only 429/5xx are "come back later"; a Retry-After elsewhere is ignored.
  CHECK_FALSE(parse_status_error(409, fixture("06-update-stale-rv.json"), "5").retry_after);
}

TEST_CASE("a body that is not a Status is quoted as a short single-line excerpt") {
  const std::string html = "<html>\n<body>" + std::string(500, 'x') + "</body></html>";
  const auto error = parse_status_error(502, html, std::nullopt);
  CHECK(error.kind == ApiErrorKind::server_error);
  CHECK(error.message.size() <= 203);
  CHECK(error.message.find('\n') == std::string::npos);
  CHECK(error.message.starts_with("<html> <body>"));
  CHECK(parse_status_error(418, "teapot", std::nullopt).kind == ApiErrorKind::other);
}

TEST_CASE("Retry-After accepts delta-seconds and HTTP-dates") {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("0", now) == 0ms);
  CHECK(parse_retry_after(" 120 ", now) == 120s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0ms);
  CHECK(parse_retry_after("99999999", now) == 3600s);
  // Found by fuzz_api_status: dates outside system_clock's range overflowed (undefined behaviour).
  CHECK(parse_retry_after("Wed, 21 Oct 8046 07:28:00 GMT", now) == 3600s);
  CHECK(parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", now) == 0ms);
  for (const std::string bad : {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994", "12abc"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_retry_after(bad, now));
  }
}
