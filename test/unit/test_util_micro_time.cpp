#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/chrono.h>

#include "util/micro_time.h"

using le::util::format_micro_time;
using le::util::parse_micro_time;

TEST_CASE("MicroTime formats UTC with exactly six fractional digits") {
  const auto t = parse_micro_time("2026-11-25T07:27:11.000042Z");
  REQUIRE(t);
  CHECK(format_micro_time(*t) == "2026-11-25T07:27:11.000042Z");
  CHECK(format_micro_time(le::util::WallTime{}) == "1970-01-01T00:00:00.000000Z");
}

TEST_CASE("MicroTime parses what the API server and Go's RFC 3339 parser accept") {
  CHECK(format_micro_time(*parse_micro_time("2021-03-04T05:06:07Z")) == "2021-03-04T05:06:07.000000Z");
  CHECK(format_micro_time(*parse_micro_time("2021-03-04T05:06:07.5Z")) == "2021-03-04T05:06:07.500000Z");
  CHECK(format_micro_time(*parse_micro_time("2021-03-04T05:06:07.123456789Z")) ==
        "2021-03-04T05:06:07.123456Z");
  CHECK(format_micro_time(*parse_micro_time("2021-03-04T07:06:07.000001+02:00")) ==
        "2021-03-04T05:06:07.000001Z");
  CHECK(format_micro_time(*parse_micro_time("2021-03-04T00:30:00.000000-01:00")) ==
        "2021-03-04T01:30:00.000000Z");
  CHECK(format_micro_time(*parse_micro_time("2024-02-29T23:59:59.999999Z")) == "2024-02-29T23:59:59.999999Z");
}

TEST_CASE("MicroTime rejects malformed text") {
  for (const char* bad :
       {"", "yesterday", "2021-03-04", "2021-03-04T05:06:07", "2021-03-04 05:06:07Z", "2021-13-04T05:06:07Z",
        "2021-02-30T05:06:07Z", "2021-03-04T25:06:07Z", "2021-03-04T05:06:07.Z",
        "2021-03-04T05:06:07.1234567890Z", "2021-03-04T05:06:07Zjunk", "2021-03-04T05:06:07+0200"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_micro_time(bad).has_value());
  }
}

TEST_CASE("MicroTime truncates to whole microseconds") {
  using namespace std::chrono;
  const system_clock::time_point t{nanoseconds{1'700'000'000'123'456'789LL}};
  CHECK(le::util::to_micro(t).time_since_epoch() == microseconds{1'700'000'000'123'456LL});
}

TEST_CASE("times are written in UTC whatever the local time zone") {
  using namespace std::chrono;
  // fmt 9 formats a time point's date in local time; ours must not (a Pod in another zone, or a
  // time just before midnight UTC, would write the wrong day).
  const char* saved = std::getenv("TZ");
  const std::string saved_tz = saved ? saved : "";
  setenv("TZ", "America/New_York", 1);
  tzset();
  const sys_seconds late{sys_days{year{2026} / 12 / 3} + hours{23} + minutes{59} + seconds{58}};
  CHECK(le::util::format_seconds_time(late) == "2026-12-03T23:59:58Z");
  CHECK(format_micro_time(le::util::to_micro(late + microseconds{7})) == "2026-12-03T23:59:58.000007Z");
  CHECK(le::util::format_seconds_time(sys_seconds{seconds{-1}}) == "1969-12-31T23:59:59Z");
  if (saved) {
    setenv("TZ", saved_tz.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST_CASE("MicroTime's digits by hand match fmt's formatting, across the range and around its edges") {
  using namespace std::chrono;
  // The layout as format_micro_time wrote it with fmt alone, before the digits were written by hand.
  const auto reference = [](le::util::WallTime t) {
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    return fmt::format("{:04}-{:02}-{:02}T{:%T}Z", int(ymd.year()), unsigned(ymd.month()),
                       unsigned(ymd.day()), t - day);
  };
  std::vector<le::util::WallTime> times{
      le::util::WallTime{},
      le::util::WallTime{} - microseconds{1},
      le::util::WallTime{sys_days{year{2026} / 12 / 31}} + hours{23} + minutes{59} + seconds{59} +
          microseconds{999999},
      le::util::WallTime{sys_days{year{9999} / 12 / 31}} + hours{23},
      le::util::WallTime{sys_days{year{10000} / 1 / 1}} + microseconds{5},
      le::util::WallTime{sys_days{year{0} / 1 / 1}},
      le::util::WallTime{sys_days{year{-1} / 6 / 1}},
  };
  std::srand(42);
  for (int i = 0; i < 2000; ++i) {
    // Up to about 680 years either way of 1970, with any microsecond.
    const auto spread = static_cast<long long>(std::rand()) * 10'000'000 + std::rand() % 1'000'000;
    times.push_back(le::util::WallTime{microseconds{i % 2 ? spread : -spread}});
  }
  for (const auto t : times) {
    CAPTURE(t.time_since_epoch().count());
    CHECK(format_micro_time(t) == reference(t));
    std::string appended = "x";
    le::util::append_micro_time(appended, t);
    CHECK(appended == "x" + reference(t));
  }
}
