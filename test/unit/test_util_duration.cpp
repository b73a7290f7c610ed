#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "util/duration.h"

using namespace std::chrono_literals;
using le::util::format_go_duration;
using le::util::parse_go_duration;
using std::chrono::nanoseconds;

TEST_CASE("parse_go_duration accepts what Go's time.ParseDuration accepts") {
  struct Case {
    const char* text;
    nanoseconds expected;
  };
  const Case cases[] = {
      {"0", 0ns},
      {"-0", 0ns},
      {"+0", 0ns},
      {"0s", 0ns},
      {"5s", 5s},
      {"15s", 15s},
      {"300ms", 300ms},
      {"1.5h", 90min},
      {"2h45m", 2h + 45min},
      {"1m30s", 90s},
      {"1.5s", 1500ms},
      {".5s", 500ms},
      {"5.s", 5s},
      {"-1s", -1s},
      {"+2s", 2s},
      {"-1.5m", -90s},
      {"100ns", 100ns},
      {"3us", 3us},
      {"3\xC2\xB5s", 3us},  // U+00B5 micro sign
      {"3\xCE\xBCs", 3us},  // U+03BC Greek mu
      {"1h1m1s1ms1us1ns", 1h + 1min + 1s + 1ms + 1us + 1ns},
      {"0.000000001s", 1ns},
      {"1.0000000001s", 1s},  // below a nanosecond is dropped, as Go does
      {"9223372036854775807ns", nanoseconds{std::numeric_limits<std::int64_t>::max()}},
      {"-9223372036854775808ns", nanoseconds{std::numeric_limits<std::int64_t>::min()}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto parsed = parse_go_duration(c.text);
    REQUIRE(parsed.has_value());
    CHECK(parsed->count() == c.expected.count());
  }
}

TEST_CASE("parse_go_duration rejects what Go rejects") {
  for (const char* bad : {"",
                          "5",
                          "1x",
                          "s",
                          ".",
                          ".s",
                          "-",
                          "+",
                          "1.5",
                          "1s5",
                          "1 s",
                          " 1s",
                          "1s ",
                          "1S",
                          "1sec",
                          "--1s",
                          "1e3s",
                          "0x10s",
                          "9223372036854775808ns",
                          "2562048h",
                          "1..5s"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_go_duration(bad).has_value());
  }
}

TEST_CASE("format_go_duration writes what Go's Duration.String writes") {
  struct Case {
    nanoseconds value;
    const char* expected;
  };
  const Case cases[] = {
      {0ns, "0s"},
      {1ns, "1ns"},
      {1500ns, "1.5\xC2\xB5s"},
      {250ms, "250ms"},
      {2500ms, "2.5s"},
      {1500ms, "1.5s"},
      {15s, "15s"},
      {1min, "1m0s"},
      {90s, "1m30s"},
      {2h + 45min, "2h45m0s"},
      {-1s, "-1s"},
      {1s + 1ns, "1.000000001s"},
      {nanoseconds{std::numeric_limits<std::int64_t>::min()}, "-2562047h47m16.854775808s"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expected);
    CHECK(format_go_duration(c.value) == c.expected);
    CHECK(parse_go_duration(format_go_duration(c.value)) == c.value);  // round trip
  }
}
